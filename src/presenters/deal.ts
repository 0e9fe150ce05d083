/** Deal cards, lists, confirmations and help as RichMessages, in the user's language. */
import { daysInStage, isNextStepOverdue, isStalled } from '../domain/deal.js';
import { findStage, stageLabel } from '../domain/pipeline.js';
import type { WorkspaceSettings } from '../domain/settings.js';
import type { Deal, Locale, Note, StageChange } from '../domain/types.js';
import { formatDate, formatDays, formatMoney } from '../i18n/format.js';
import { t } from '../i18n/index.js';
import type { RichAction, RichBlock, RichMessage, RichText } from './rich.js';
import { truncate } from './rich.js';

export interface View {
  locale: Locale;
  settings: WorkspaceSettings;
  now: Date;
}

export const money = (v: View, deal: Pick<Deal, 'amount' | 'currency'>): string =>
  deal.amount === null ? t(v.locale, 'deal.noAmount') : formatMoney(deal.amount, deal.currency, v.locale);

export const dayText = (v: View, d: Date): string => formatDate(d, v.locale, v.settings.timezone);

/** "Next step: call CFO · due Dec 3 (overdue)" */
export function nextStepText(v: View, deal: Deal): RichText {
  if (!deal.nextStep) return [{ italic: t(v.locale, 'deal.noNextStep') }];
  const out: RichText = [deal.nextStep.text];
  if (deal.nextStep.dueAt) {
    out.push(` · ${t(v.locale, 'deal.due', { date: dayText(v, deal.nextStep.dueAt) })}`);
    if (isNextStepOverdue(deal, v.now)) out.push(' ', { bold: `⚠ ${t(v.locale, 'deal.overdue')}` });
  }
  return out;
}

export function stageText(v: View, deal: Deal): RichText {
  const label = stageLabel(v.settings.stages, deal.stage, v.locale);
  if (deal.status !== 'open') return [label];
  const days = formatDays(daysInStage(deal, v.now), v.locale);
  const out: RichText = [`${label} · ${t(v.locale, 'deal.daysInStage', { days })}`];
  if (isStalled(deal, v.settings.stages, v.now)) out.push(' ', { bold: `⏳ ${t(v.locale, 'deal.stalled')}` });
  else if (deal.snoozedUntil && deal.snoozedUntil > v.now)
    out.push(` · ${t(v.locale, 'deal.snoozedUntil', { date: dayText(v, deal.snoozedUntil) })}`);
  return out;
}

/** The buttons of an open deal: Advance, Next step, Note, Snooze, Lost. */
export function dealActions(v: View, deal: Deal): RichAction[] {
  if (deal.status !== 'open') return [{ kind: 'note', label: t(v.locale, 'ui.note'), value: deal.id }];
  return [
    { kind: 'advance', label: t(v.locale, 'ui.advance'), value: deal.id, style: 'primary' },
    { kind: 'next_step', label: t(v.locale, 'ui.nextStep'), value: deal.id },
    { kind: 'note', label: t(v.locale, 'ui.note'), value: deal.id },
    { kind: 'snooze', label: t(v.locale, 'ui.snooze'), value: deal.id },
    { kind: 'lost', label: t(v.locale, 'ui.lost'), value: deal.id, style: 'danger' },
  ];
}

export function dealTitle(deal: Deal): string {
  return truncate(`${deal.code} · ${deal.name}`, 150);
}

export interface CardExtras {
  changes?: StageChange[];
  notes?: Note[];
  /** A line above the card ("D-12 moved from Lead to Qualification."). */
  headline?: RichText;
  /** Add the Edit button (after a quick create). */
  edit?: boolean;
}

/** The deal card: every surface shows the same facts and buttons. */
export function dealCard(v: View, deal: Deal, extras: CardExtras = {}): RichMessage {
  const L = v.locale;
  const blocks: RichBlock[] = [];
  if (extras.headline) blocks.push({ type: 'text', text: extras.headline });
  blocks.push({ type: 'header', text: dealTitle(deal) });
  const fields: { label: string; value: RichText }[] = [
    { label: t(L, 'field.company'), value: [deal.company || t(L, 'ui.none')] },
    { label: t(L, 'field.amount'), value: [money(v, deal)] },
    { label: t(L, 'field.stage'), value: stageText(v, deal) },
    { label: t(L, 'field.owner'), value: [{ mention: deal.ownerId }] },
    { label: t(L, 'field.nextStep'), value: nextStepText(v, deal) },
  ];
  if (deal.closeDate) fields.push({ label: t(L, 'field.closeDate'), value: [dayText(v, deal.closeDate)] });
  fields.push({ label: t(L, 'field.source'), value: [t(L, `source.${deal.source}`)] });
  if (deal.status === 'lost' && deal.lostReason)
    fields.push({ label: t(L, 'field.lostReason'), value: [lostReasonText(v, deal)] });
  for (const def of v.settings.customFields) {
    const val = deal.custom[def.key];
    if (val === undefined) continue;
    fields.push({ label: def.labels[L], value: [val instanceof Date ? dayText(v, val) : String(val)] });
  }
  blocks.push({ type: 'fields', fields });
  if (extras.changes?.length) {
    blocks.push({ type: 'context', text: [{ bold: t(L, 'deal.history') }] });
    blocks.push({
      type: 'list',
      items: extras.changes
        .slice(-8)
        .map((c) => [
          `${dayText(v, c.at)} `,
          c.from ? `${stageLabel(v.settings.stages, c.from, L)} → ` : '',
          stageLabel(v.settings.stages, c.to, L),
          ' · ',
          { mention: c.by },
          ...(c.reason ? [` — ${truncate(changeReason(v, c), 200)}`] : []),
        ]),
    });
  }
  if (extras.notes?.length) {
    blocks.push({ type: 'context', text: [{ bold: t(L, 'deal.notes') }] });
    blocks.push({
      type: 'list',
      items: extras.notes.map((n) => [
        `${dayText(v, n.at)} `,
        { mention: n.authorId },
        `: ${truncate(n.text, 500)}`,
      ]),
    });
  }
  const actions = dealActions(v, deal);
  if (extras.edit) actions.splice(1, 0, { kind: 'edit', label: t(L, 'ui.edit'), value: deal.id });
  blocks.push({ type: 'actions', actions });
  return { summary: `${deal.code} ${deal.name} — ${stageLabel(v.settings.stages, deal.stage, L)}`, blocks };
}

/** A StageChange's reason; a lost-reason key is shown as its label. */
export function changeReason(v: View, c: Pick<StageChange, 'reason'>): string {
  if (c.reason === 'dp:reopen') return t(v.locale, 'deal.reopenedReason');
  const def = v.settings.lostReasons.find((r) => r.key === c.reason);
  return def ? def.labels[v.locale] : (c.reason ?? '');
}

export function lostReasonText(v: View, deal: Deal): string {
  const r = deal.lostReason;
  if (!r) return '';
  const def = v.settings.lostReasons.find((x) => x.key === r.key);
  const label = def && r.key !== 'other' ? def.labels[v.locale] : undefined;
  return [label, r.text].filter(Boolean).join(' — ') || (def?.labels[v.locale] ?? '');
}

/** One line per deal, for lists, App Home and digests. */
export function dealLine(v: View, deal: Deal): RichText {
  const stage = findStage(v.settings.stages, deal.stage);
  return [
    { bold: deal.code },
    ` ${truncate(deal.name, 80)}`,
    deal.company ? ` (${truncate(deal.company, 60)})` : '',
    ` · ${money(v, deal)} · ${stage ? stage.labels[v.locale] : deal.stage}`,
    ` · ${formatDays(daysInStage(deal, v.now), v.locale)}`,
    ' · ',
    { mention: deal.ownerId },
    isStalled(deal, v.settings.stages, v.now) ? ` ⏳` : '',
    isNextStepOverdue(deal, v.now) ? ` ⚠` : '',
  ];
}

export function dealList(
  v: View,
  page: { deals: Deal[]; total: number; page: number; pageSize: number },
  title: string,
  pageValue: (p: number) => string,
): RichMessage {
  const L = v.locale;
  const pages = Math.max(1, Math.ceil(page.total / page.pageSize));
  const blocks: RichBlock[] = [{ type: 'header', text: truncate(title, 150) }];
  if (page.deals.length === 0) blocks.push({ type: 'text', text: [t(L, 'deal.none')] });
  else {
    blocks.push({ type: 'list', items: page.deals.map((d) => dealLine(v, d)) });
    blocks.push({
      type: 'context',
      text: [
        `${t(L, 'deal.listTitle', { count: page.total })} · ${t(L, 'deal.page', { page: page.page + 1, pages })}`,
      ],
    });
    const nav: RichAction[] = [];
    if (page.page > 0)
      nav.push({ kind: 'page', label: t(L, 'ui.prevPage'), value: pageValue(page.page - 1) });
    if (page.page + 1 < pages)
      nav.push({ kind: 'page', label: t(L, 'ui.nextPage'), value: pageValue(page.page + 1) });
    if (nav.length) blocks.push({ type: 'actions', actions: nav });
  }
  return { summary: `${title}: ${page.total}`, blocks };
}

export function helpMessage(locale: Locale, unknown?: string): RichMessage {
  const keys = [
    'new',
    'advance',
    'won',
    'lost',
    'reopen',
    'show',
    'list',
    'note',
    'next',
    'assign',
    'snooze',
    'edit',
    'pipeline',
    'pipelineMore',
  ];
  const blocks: RichBlock[] = [{ type: 'header', text: t(locale, 'help.title') }];
  if (unknown)
    blocks.push({ type: 'text', text: [t(locale, 'help.unknown', { cmd: truncate(unknown, 40) })] });
  else blocks.push({ type: 'text', text: [t(locale, 'help.intro')] });
  blocks.push({ type: 'list', items: keys.map((k) => helpLine(t(locale, `help.${k}`))) });
  return { summary: t(locale, 'help.title'), blocks };
}

/** Turns "`/deal x` — text" into a code segment plus text. */
function helpLine(line: string): RichText {
  const m = /^`([^`]+)`(.*)$/.exec(line);
  if (!m) return [line];
  const rest = m[2]!;
  const more = /^(.*?)`([^`]+)`(.*)$/.exec(rest);
  if (more) return [{ code: m[1]! }, more[1]!, { code: more[2]! }, more[3]!];
  return [{ code: m[1]! }, rest];
}

/** A short confirmation with the card below it. */
export function confirmation(
  v: View,
  deal: Deal,
  key: string,
  params: Record<string, unknown>,
  extras: CardExtras = {},
): RichMessage {
  const headline = t(v.locale, key, { code: deal.code, name: deal.name, ...params });
  const card = dealCard(v, deal, { ...extras, headline: [headline] });
  return { ...card, summary: headline };
}
