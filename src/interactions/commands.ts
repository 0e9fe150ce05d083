/**
 * The command grammar shared by Slack, Feishu and the console:
 * `/deal <sub> …`, `/pipeline …`, the slash optional, with Chinese aliases.
 */

export type DealSub =
  | 'help'
  | 'new'
  | 'advance'
  | 'won'
  | 'lost'
  | 'reopen'
  | 'show'
  | 'list'
  | 'note'
  | 'next'
  | 'assign'
  | 'snooze'
  | 'edit'
  | 'import';

export type PipelineSub = 'summary' | 'stalled' | 'forecast' | 'review' | 'settings' | 'export';

export type ParsedCommand =
  | { root: 'deal'; sub: DealSub; args: string[]; raw: string }
  | { root: 'deal'; sub: 'unknown'; word: string; args: string[]; raw: string }
  | { root: 'pipeline'; sub: PipelineSub; args: string[]; raw: string }
  | { root: 'unknown'; word: string; args: string[]; raw: string };

const DEAL_ALIASES: Record<string, DealSub> = {
  help: 'help',
  '?': 'help',
  帮助: 'help',
  new: 'new',
  create: 'new',
  add: 'new',
  新建: 'new',
  新增: 'new',
  创建: 'new',
  advance: 'advance',
  move: 'advance',
  推进: 'advance',
  won: 'won',
  win: 'won',
  赢单: 'won',
  成交: 'won',
  lost: 'lost',
  lose: 'lost',
  输单: 'lost',
  流失: 'lost',
  reopen: 'reopen',
  重开: 'reopen',
  重新打开: 'reopen',
  show: 'show',
  view: 'show',
  查看: 'show',
  详情: 'show',
  list: 'list',
  ls: 'list',
  列表: 'list',
  note: 'note',
  comment: 'note',
  备注: 'note',
  next: 'next',
  nextstep: 'next',
  下一步: 'next',
  assign: 'assign',
  分配: 'assign',
  转给: 'assign',
  snooze: 'snooze',
  暂停: 'snooze',
  稍后: 'snooze',
  edit: 'edit',
  编辑: 'edit',
  import: 'import',
  导入: 'import',
};

const PIPELINE_ALIASES: Record<string, PipelineSub> = {
  stalled: 'stalled',
  stuck: 'stalled',
  停滞: 'stalled',
  forecast: 'forecast',
  预测: 'forecast',
  review: 'review',
  digest: 'review',
  周报: 'review',
  复盘: 'review',
  settings: 'settings',
  config: 'settings',
  设置: 'settings',
  export: 'export',
  导出: 'export',
};

const DEAL_ROOTS = new Set(['deal', 'deals', '商机']);
const PIPELINE_ROOTS = new Set(['pipeline', 'funnel', '漏斗', '管道', '销售漏斗']);
/** Words that alone mean a pipeline sub-command (Feishu users type "周报"). */
const PIPELINE_SHORTCUTS: Record<string, PipelineSub> = {
  周报: 'review',
  复盘: 'review',
  预测: 'forecast',
  停滞: 'stalled',
  设置: 'settings',
  导出: 'export',
};

/**
 * Splits a line into words: whitespace separates, "double" or “curly” quotes group,
 * `<@U123|name>` mention tokens stay whole.
 */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  const re = /<@[^>\s]+>|"([^"]*)"|“([^”]*)”|「([^」]*)」|(\S+)/g;
  for (const m of line.matchAll(re)) {
    const v = m[1] ?? m[2] ?? m[3] ?? m[4] ?? m[0];
    out.push(v);
  }
  return out;
}

export function parseCommand(line: string): ParsedCommand {
  const raw = line.trim().replace(/^[/／]/, '');
  const words = tokenize(raw);
  const first = (words[0] ?? '').toLowerCase();
  if (DEAL_ROOTS.has(first)) return dealSub(words.slice(1), raw);
  if (PIPELINE_ROOTS.has(first)) return pipelineSub(words.slice(1), raw);
  if (first in PIPELINE_SHORTCUTS)
    return { root: 'pipeline', sub: PIPELINE_SHORTCUTS[first]!, args: words.slice(1), raw };
  if (first in DEAL_ALIASES) return dealSub(words, raw);
  return { root: 'unknown', word: words[0] ?? '', args: words.slice(1), raw };
}

function dealSub(words: string[], raw: string): ParsedCommand {
  const word = words[0];
  if (word === undefined) return { root: 'deal', sub: 'help', args: [], raw };
  const sub = DEAL_ALIASES[word.toLowerCase()];
  if (!sub) return { root: 'deal', sub: 'unknown', word, args: words.slice(1), raw };
  return { root: 'deal', sub, args: words.slice(1), raw };
}

function pipelineSub(words: string[], raw: string): ParsedCommand {
  const word = words[0]?.toLowerCase();
  const sub = word ? PIPELINE_ALIASES[word] : undefined;
  if (sub) return { root: 'pipeline', sub, args: words.slice(1), raw };
  return { root: 'pipeline', sub: 'summary', args: words, raw };
}

/** A `<@U123>` or `<@U123|name>` mention token → the user id. */
export function mentionId(word: string): string | undefined {
  const m = /^<@([^>|]+)(?:\|[^>]*)?>$/.exec(word);
  return m?.[1];
}
