/**
 * Messages of the scheduler: stall alerts and their thread replies, the
 * over-the-cap summary, rule notifications, task reminders and the fallback
 * digest. Platform-neutral RichMessages; user text stays raw and mentions are
 * explicit segments.
 */
import { stallFacts } from '../domain/alerts.js';
import { fillTemplate } from '../domain/rules.js';
import { stageLabel } from '../domain/pipeline.js';
import type { Rule, WorkspaceSettings } from '../domain/settings.js';
import type { Deal, Locale } from '../domain/types.js';
import { hasKey, t } from '../i18n/index.js';
import { formatDate, formatDays, formatMoney } from '../i18n/format.js';
import type { RichAction, RichBlock, RichMessage, RichText } from './rich.js';
import { textMessage } from './rich.js';
import { daysInStage } from '../domain/deal.js';

type Params = Record<string, string | number>;
/** A parameter that becomes one or more mention segments. */
type Mentions = Record<string, string[]>;

const SENTINEL = '\u0001';

/**
 * Translates `key` and turns the `mentions` parameters into `{mention}` segments,
 * wherever the language puts them in the sentence.
 */
export function richT(locale: Locale, key: string, params: Params = {}, mentions: Mentions = {}): RichText {
  return splitMentions(t(locale, key, { ...params, ...sentinels(mentions) }), mentions, locale);
}

function sentinels(mentions: Mentions): Record<string, string> {
  return Object.fromEntries(Object.keys(mentions).map((k) => [k, `${SENTINEL}${k}${SENTINEL}`]));
}

function splitMentions(text: string, mentions: Mentions, locale: Locale): RichText {
  const out: RichText = [];
  const parts = text.split(SENTINEL);
  parts.forEach((part, i) => {
    if (i % 2 === 1 && part in mentions) {
      const ids = mentions[part]!;
      ids.forEach((id, j) => {
        if (j > 0) out.push(locale === 'zh-CN' ? '、' : ', ');
        out.push({ mention: id });
      });
    } else if (part !== '') out.push(part);
  });
  return out;
}

const money = (deal: Deal, locale: Locale): string =>
  typeof deal.amount === 'number'
    ? formatMoney(deal.amount, deal.currency, locale)
    : t(locale, 'jobs.alert.noAmount');

const dealTitle = (deal: Deal): string => `${deal.code} ${deal.name}`;

function baseParams(deal: Deal, settings: WorkspaceSettings, locale: Locale, now: Date): Params {
  const f = stallFacts(deal, settings, now);
  return {
    code: deal.code,
    name: deal.name,
    stage: stageLabel(settings.stages, deal.stage, locale),
    days: formatDays(Math.floor(f.days * 10) / 10, locale),
    threshold: formatDays(f.thresholdDays, locale),
    limit: formatDays(f.escalationDays, locale),
    amount: money(deal, locale),
  };
}

function nextStepText(deal: Deal, settings: WorkspaceSettings, locale: Locale, now: Date): RichText {
  if (!deal.nextStep) return [{ italic: t(locale, 'jobs.alert.noNextStep') }];
  const due = deal.nextStep.dueAt;
  if (!due) return [deal.nextStep.text];
  const date = formatDate(due, locale, settings.timezone);
  return due.getTime() < now.getTime()
    ? [deal.nextStep.text, ' ', { bold: t(locale, 'jobs.alert.overdue', { date }) }]
    : [deal.nextStep.text, ` (${t(locale, 'jobs.alert.due', { date })})`];
}

export function alertActions(deal: Deal, locale: Locale): RichAction[] {
  const kinds = ['advance', 'next_step', 'snooze_1d', 'snooze_3d', 'snooze_1w', 'lost', 'note'] as const;
  return kinds.map((kind) => ({
    kind,
    label: t(locale, `jobs.alert.button.${kind}`),
    value: deal.id,
    ...(kind === 'advance'
      ? { style: 'primary' as const }
      : kind === 'lost'
        ? { style: 'danger' as const }
        : {}),
  }));
}

function factsBlock(deal: Deal, settings: WorkspaceSettings, locale: Locale, now: Date): RichBlock {
  const p = baseParams(deal, settings, locale, now);
  return {
    type: 'fields',
    fields: [
      { label: t(locale, 'jobs.alert.owner'), value: [{ mention: deal.ownerId }] },
      { label: t(locale, 'jobs.alert.stage'), value: [String(p.stage)] },
      { label: t(locale, 'jobs.alert.inStage'), value: [{ bold: t(locale, 'jobs.alert.inStageValue', p) }] },
      { label: t(locale, 'jobs.alert.amount'), value: [String(p.amount)] },
      { label: t(locale, 'jobs.alert.nextStep'), value: nextStepText(deal, settings, locale, now) },
    ],
  };
}

/** The stall alert: owner mentioned, time in stage against the limit, amount, next step, and the buttons. */
export function alertMessage(
  deal: Deal,
  settings: WorkspaceSettings,
  locale: Locale,
  now: Date,
): RichMessage {
  const p = baseParams(deal, settings, locale, now);
  return {
    summary: t(locale, 'jobs.alert.summary', p),
    blocks: [
      { type: 'header', text: t(locale, 'jobs.alert.header', p) },
      { type: 'text', text: richT(locale, 'jobs.alert.nudge', p, { owner: [deal.ownerId] }) },
      factsBlock(deal, settings, locale, now),
      { type: 'actions', actions: alertActions(deal, locale) },
      { type: 'context', text: [t(locale, 'jobs.alert.replyHint')] },
    ],
  };
}

export type Resolution = 'moved' | 'won' | 'lost' | 'snoozed';

/** The reply in the alert thread when the deal moves, closes or is snoozed. */
export function resolutionReply(
  deal: Deal,
  settings: WorkspaceSettings,
  locale: Locale,
  resolution: Resolution,
  who: string,
): RichMessage {
  const params: Params = {
    code: deal.code,
    name: deal.name,
    stage: stageLabel(settings.stages, deal.stage, locale),
    date: deal.snoozedUntil ? formatDate(deal.snoozedUntil, locale, settings.timezone) : '',
  };
  const text = richT(locale, `jobs.alert.resolved.${resolution}`, params, { who: [who] });
  return {
    summary: t(locale, `jobs.alert.resolvedHeader.${resolution}`, params),
    blocks: [{ type: 'text', text }],
  };
}

/** The alert as it reads once resolved: the same facts, the outcome, no buttons. */
export function resolvedAlertMessage(
  deal: Deal,
  settings: WorkspaceSettings,
  locale: Locale,
  resolution: Resolution,
  who: string,
  now: Date,
): RichMessage {
  const reply = resolutionReply(deal, settings, locale, resolution, who);
  return {
    summary: reply.summary,
    blocks: [
      { type: 'header', text: reply.summary },
      ...reply.blocks,
      factsBlock(deal, settings, locale, now),
      { type: 'context', text: [t(locale, 'jobs.alert.replyHint')] },
    ],
  };
}

/** The reply that mentions the managers once a deal stays stalled past the escalation limit. */
export function escalationReply(
  deal: Deal,
  settings: WorkspaceSettings,
  locale: Locale,
  managers: string[],
  now: Date,
): RichMessage {
  const p = baseParams(deal, settings, locale, now);
  return {
    summary: t(locale, 'jobs.alert.escalationSummary', p),
    blocks: [{ type: 'text', text: richT(locale, 'jobs.alert.escalation', p, { managers }) }],
  };
}

/** One message for the stalled deals over the per-channel cap. */
export function overflowMessage(
  deals: Deal[],
  settings: WorkspaceSettings,
  locale: Locale,
  now: Date,
  cap: number,
): RichMessage {
  const count = deals.length;
  return {
    summary: t(locale, 'jobs.alert.overflow.summary', { count }),
    blocks: [
      { type: 'header', text: t(locale, 'jobs.alert.overflow.header', { count }) },
      { type: 'text', text: [t(locale, 'jobs.alert.overflow.intro', { cap })] },
      // Slack allows 50 blocks and 3,000 characters per text: list the first 40, count the rest.
      {
        type: 'list',
        items: deals
          .slice(0, 40)
          .map((d) => [t(locale, 'jobs.alert.overflow.item', baseParams(d, settings, locale, now))]),
      },
      ...(count > 40 ? [{ type: 'context' as const, text: [`+${count - 40}`] }] : []),
    ],
  };
}

/** Text of a rule template: a catalogue key (`rule.proposal_stalled`) or the manager's own text with `{deal}`-style fields. */
export function ruleText(
  template: string,
  deal: Deal,
  settings: WorkspaceSettings,
  locale: Locale,
  now: Date,
  rule?: Rule,
): RichText {
  const p = baseParams(deal, settings, locale, now);
  const values: Params = {
    deal: dealTitle(deal),
    name: deal.name,
    code: deal.code,
    company: deal.company,
    stage: p.stage!,
    amount: p.amount!,
    days: Math.floor(daysInStage(deal, now)),
    rule: rule?.name ?? '',
  };
  if (/^rule\.[a-z_]+$/.test(template) && hasKey(locale, `jobs.${template}`))
    return richT(locale, `jobs.${template}`, values, { owner: [deal.ownerId] });
  const filled = fillTemplate(
    template,
    Object.fromEntries(Object.entries(values).map(([k, v]) => [k, String(v)])),
  );
  return splitMentions(
    filled.replaceAll('{owner}', `${SENTINEL}owner${SENTINEL}`),
    { owner: [deal.ownerId] },
    locale,
  );
}

/** A rule's notification. */
export function ruleNotifyMessage(
  rule: Rule,
  template: string,
  deal: Deal,
  settings: WorkspaceSettings,
  locale: Locale,
  now: Date,
): RichMessage {
  const text = ruleText(template || 'rule.default_notify', deal, settings, locale, now, rule);
  return {
    summary: t(locale, 'jobs.rule.header', { rule: rule.name }),
    blocks: [
      { type: 'context', text: [t(locale, 'jobs.rule.header', { rule: rule.name })] },
      { type: 'text', text },
    ],
  };
}

/** The DM reminding an assignee that a follow-up task is due. */
export function taskReminderMessage(
  deal: Deal,
  text: string,
  dueAt: Date,
  assignee: string,
  settings: WorkspaceSettings,
  locale: Locale,
): RichMessage {
  const params = { deal: dealTitle(deal), text, date: formatDate(dueAt, locale, settings.timezone) };
  return {
    summary: t(locale, 'jobs.task.reminderSummary', params),
    blocks: [
      { type: 'text', text: richT(locale, 'jobs.task.reminder', params, { who: [assignee] }) },
      {
        type: 'actions',
        actions: alertActions(deal, locale).filter(
          (a) => a.kind === 'next_step' || a.kind === 'note' || a.kind === 'advance',
        ),
      },
    ],
  };
}

export interface DigestFallbackInput {
  period: string;
  currency: string;
  open: number;
  value: number;
  stalled: Deal[];
  reps: { userId: string; open: number; value: number; stalled: number }[];
}

/**
 * A plain digest used until the analytics presenter (presenters/report.ts
 * `digestMessage`) is wired in: KPIs, top stalled deals and a per-rep table.
 */
export function digestFallbackMessage(
  input: DigestFallbackInput,
  settings: WorkspaceSettings,
  locale: Locale,
  now: Date,
): RichMessage {
  const value = formatMoney(input.value, input.currency, locale);
  return {
    summary: t(locale, 'jobs.digest.summary', { period: input.period }),
    blocks: [
      { type: 'header', text: t(locale, 'jobs.digest.header', { period: input.period }) },
      {
        type: 'text',
        text: [t(locale, 'jobs.digest.kpis', { open: input.open, value, stalled: input.stalled.length })],
      },
      { type: 'divider' },
      { type: 'text', text: [{ bold: t(locale, 'jobs.digest.stalledTitle') }] },
      input.stalled.length
        ? {
            type: 'list',
            items: input.stalled
              .slice(0, 10)
              .map((d) => [t(locale, 'jobs.digest.stalledItem', baseParams(d, settings, locale, now))]),
          }
        : { type: 'text', text: [t(locale, 'jobs.digest.noStalled')] },
      { type: 'text', text: [{ bold: t(locale, 'jobs.digest.repsTitle') }] },
      {
        type: 'fields',
        fields: input.reps.slice(0, 10).map((r) => ({
          label: '',
          value: [
            { mention: r.userId },
            ': ',
            t(locale, 'jobs.digest.repRow', {
              open: r.open,
              value: formatMoney(r.value, input.currency, locale),
              stalled: r.stalled,
            }),
          ],
        })),
      },
    ],
  };
}

export function digestThreadMessage(locale: Locale): RichMessage {
  return textMessage(t(locale, 'jobs.digest.thread'));
}
