/** `/pipeline …`: the funnel and KPIs, the forecast, the stalled list and the review digest on demand. */
import { renderError } from '../i18n/index.js';
import { digestMessage, forecastMessage, pipelineMessage, stalledMessage } from '../presenters/report.js';
import type { RichMessage } from '../presenters/rich.js';
import type { Ctx } from '../usecases/context.js';
import {
  forecastReport,
  pipelineReport,
  stalledReport,
  type PipelineReportInput,
} from '../usecases/reports.js';
import type { Result } from '../domain/errors.js';
import type { PipelineSub } from './commands.js';
import type { Outcome } from './types.js';
import { textMessage } from '../presenters/rich.js';

/** Splits `/pipeline last 90d @bob source:event` into period, owner and source. */
export function reportInput(args: string[]): PipelineReportInput {
  const period: string[] = [];
  const input: PipelineReportInput = {};
  for (const w of args) {
    const source = /^(?:source|来源)[:：](.+)$/i.exec(w);
    if (source) input.source = source[1];
    else if (w.startsWith('<@') || w.startsWith('@')) input.owner = w;
    else period.push(w);
  }
  if (period.length) input.period = period.join(' ');
  return input;
}

async function show<T>(
  ctx: Ctx,
  r: Result<T>,
  present: (v: T) => RichMessage | Promise<RichMessage>,
): Promise<Outcome> {
  if (!r.ok) {
    const text = renderError(ctx.locale, r.error, { stages: ctx.workspace.settings.stages });
    return {
      kind: 'message',
      visibility: 'ephemeral',
      message: textMessage(text),
    };
  }
  return { kind: 'message', visibility: 'channel', message: await present(r.value) };
}

export async function pipelineCommand(
  ctx: Ctx,
  sub: Exclude<PipelineSub, 'settings' | 'export'>,
  args: string[],
): Promise<Outcome> {
  switch (sub) {
    case 'stalled':
      return show(ctx, await stalledReport(ctx, { limit: 20 }), stalledMessage);
    case 'forecast':
      return show(ctx, await forecastReport(ctx, reportInput(args)), forecastMessage);
    case 'review':
      return show(ctx, await pipelineReport(ctx, reportInput(args)), (r) => digestMessage(r));
    case 'summary':
      return show(ctx, await pipelineReport(ctx, reportInput(args)), pipelineMessage);
  }
}
