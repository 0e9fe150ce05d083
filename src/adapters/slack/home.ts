/**
 * App Home presenter: the user's open deals grouped by stage, their stalled
 * and overdue deals with quick actions; managers also see the team's pipeline.
 * Built from listDeals; rendered through the same Block Kit renderer.
 */
import { isNextStepOverdue, isStalled } from '../../domain/deal.js';
import { openStages } from '../../domain/pipeline.js';
import type { Deal } from '../../domain/types.js';
import { formatMoney } from '../../i18n/format.js';
import { t } from '../../i18n/index.js';
import { view } from '../../interactions/index.js';
import { dealLine } from '../../presenters/deal.js';
import type { RichAction, RichBlock } from '../../presenters/rich.js';
import { isManager, type Ctx } from '../../usecases/context.js';
import { listDeals } from '../../usecases/deals.js';
import { HOME_HELP, HOME_NEW } from './actions/home-buttons.js';
import { LIMITS } from './limits.js';
import { renderMessage, type SlackBlock } from './render.js';
import { pipelineReport } from '../../usecases/reports.js';

/** Deals shown per section before "…and N more". */
export const HOME_MAX_LINES = 15;
/** Deals that get their own row of quick actions. */
export const HOME_MAX_ACTION_ROWS = 5;
/** Deals read for the team summary. */

export interface HomeView {
  type: 'home';
  blocks: SlackBlock[];
}

function quickActions(ctx: Ctx, deal: Deal): RichAction[] {
  const L = ctx.locale;
  return [
    { kind: 'show', label: `${deal.code} · ${t(L, 'ui.show')}`, value: deal.id },
    { kind: 'advance', label: t(L, 'ui.advance'), value: deal.id, style: 'primary' },
    { kind: 'next_step', label: t(L, 'ui.nextStep'), value: deal.id },
    { kind: 'snooze', label: t(L, 'ui.snooze'), value: deal.id },
  ];
}

function section(ctx: Ctx, title: string, deals: Deal[], empty: string, withActions: boolean): RichBlock[] {
  const v = view(ctx);
  const out: RichBlock[] = [{ type: 'header', text: title }];
  if (!deals.length) return [...out, { type: 'context', text: [empty] }];
  out.push({ type: 'list', items: deals.slice(0, HOME_MAX_LINES).map((d) => dealLine(v, d)) });
  if (deals.length > HOME_MAX_LINES)
    out.push({
      type: 'context',
      text: [t(ctx.locale, 'slack.home.more', { count: deals.length - HOME_MAX_LINES })],
    });
  if (withActions)
    for (const d of deals.slice(0, HOME_MAX_ACTION_ROWS))
      out.push({ type: 'actions', actions: quickActions(ctx, d) });
  return out;
}

export async function buildHome(ctx: Ctx): Promise<HomeView> {
  const L = ctx.locale;
  const s = ctx.workspace.settings;
  const v = view(ctx);
  const mine = await listDeals(ctx, { kind: 'mine' }, 0, 200);
  const deals = mine.ok ? mine.value.deals : [];
  const total = mine.ok ? mine.value.total : 0;

  const blocks: RichBlock[] = [{ type: 'header', text: t(L, 'slack.home.title') }];
  const myBlocks: RichBlock[] = [{ type: 'header', text: t(L, 'slack.home.myDeals') }];
  if (!deals.length) myBlocks.push({ type: 'context', text: [t(L, 'slack.home.noDeals')] });
  let shown = 0;
  for (const stage of openStages(s.stages)) {
    const inStage = deals.filter((d) => d.stage === stage.key);
    if (!inStage.length) continue;
    const room = Math.max(0, HOME_MAX_LINES * 2 - shown);
    const lines = inStage.slice(0, room);
    shown += lines.length;
    myBlocks.push({ type: 'text', text: [{ bold: stage.labels[L] }, ` · ${inStage.length}`] });
    if (lines.length) myBlocks.push({ type: 'list', items: lines.map((d) => dealLine(v, d)) });
  }
  if (total > shown && deals.length)
    myBlocks.push({ type: 'context', text: [t(L, 'slack.home.more', { count: total - shown })] });

  const stalled = deals.filter((d) => isStalled(d, s.stages, ctx.now));
  const overdue = deals.filter((d) => isNextStepOverdue(d, ctx.now));

  blocks.push(...myBlocks, { type: 'divider' });
  blocks.push(...section(ctx, t(L, 'slack.home.stalled'), stalled, t(L, 'slack.home.noStalled'), true), {
    type: 'divider',
  });
  blocks.push(...section(ctx, t(L, 'slack.home.overdue'), overdue, t(L, 'slack.home.noOverdue'), true));

  if (isManager(ctx.actor.role)) {
    // The team's numbers come from the analytics aggregation: every open deal counts, however many.
    const report = await pipelineReport(ctx, {});
    if (report.ok) {
      const now = report.value.kpis.now;
      const money = (n: number) => formatMoney(n, s.currency, L, { compact: true });
      const byStage = new Map(now.stages.map((st) => [st.key, st]));
      blocks.push({ type: 'divider' }, { type: 'header', text: t(L, 'slack.home.team') });
      blocks.push({
        type: 'text',
        text: [
          t(L, 'slack.home.teamTotal', {
            count: now.openCount,
            amount: money(now.pipelineValue),
            stalled: now.stalledCount,
          }),
        ],
      });
      blocks.push({
        type: 'list',
        items: openStages(s.stages).map((st) => {
          const row = byStage.get(st.key);
          return [{ bold: st.labels[L] }, `: ${row?.count ?? 0} · ${money(row?.value ?? 0)}`];
        }),
      });
    }
  }

  const { blocks: rendered } = renderMessage({ summary: t(L, 'slack.home.title'), blocks }, L, {
    maxBlocks: LIMITS.viewBlocks - 1,
  });
  // Quick actions that are not about one deal go right under the title.
  const top: SlackBlock = {
    type: 'actions',
    elements: [
      {
        type: 'button',
        action_id: HOME_NEW,
        style: 'primary',
        text: { type: 'plain_text', text: t(L, 'slack.home.newDeal') },
        value: 'new',
      },
      {
        type: 'button',
        action_id: HOME_HELP,
        text: { type: 'plain_text', text: t(L, 'slack.home.help') },
        value: 'help',
      },
    ],
  };
  return { type: 'home', blocks: [rendered[0]!, top, ...rendered.slice(1)] };
}
