/** `/pipeline …`: reports, charts and the stalled list. */
import { t } from '../i18n/index.js';
import { dealList } from '../presenters/deal.js';
import type { Ctx } from '../usecases/context.js';
import { listDeals } from '../usecases/deals.js';
import { renderError } from '../i18n/index.js';
import type { PipelineSub } from './commands.js';
import type { Outcome } from './types.js';

export async function pipelineCommand(
  ctx: Ctx,
  sub: Exclude<PipelineSub, 'settings'>,
  args: string[],
): Promise<Outcome> {
  void args;
  if (sub === 'stalled') {
    const r = await listDeals(ctx, { kind: 'stalled' }, 0, 20);
    if (!r.ok)
      return {
        kind: 'message',
        visibility: 'ephemeral',
        message: {
          summary: renderError(ctx.locale, r.error),
          blocks: [{ type: 'text', text: [renderError(ctx.locale, r.error)] }],
        },
      };
    const title = ctx.locale === 'zh-CN' ? '停滞的商机' : 'Stalled deals';
    return {
      kind: 'message',
      visibility: 'channel',
      message: dealList(
        { locale: ctx.locale, settings: ctx.workspace.settings, now: ctx.now },
        r.value,
        title,
        (p) => JSON.stringify({ a: 'stalled', p }),
      ),
    };
  }
  return {
    kind: 'message',
    visibility: 'ephemeral',
    message: { summary: t(ctx.locale, 'help.title'), blocks: [] },
  };
}
