/**
 * A submitted DealPulse modal. Slack wants the answer in the ack (inline errors
 * or close), so validation runs inside it, time-boxed: when the core is slow the
 * modal closes and the result follows as a message.
 */
import type { AllMiddlewareArgs, App, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { t } from '../../../i18n/index.js';
import { submitForm } from '../../../interactions/index.js';
import type { SubmitOutcome } from '../../../interactions/types.js';
import type { Ctx } from '../../../usecases/context.js';
import { FORM_CALLBACK_PREFIX, formValues, parseModalMeta, viewErrors } from '../render.js';
import {
  deliverMessage,
  guarded,
  notice,
  sendEphemeral,
  slackContext,
  teamOf,
  type SlackEnv,
  type Surface,
} from '../runtime.js';

/** Slack closes the request after 3 s; answer well before. */
export const SUBMIT_TIME_BOX_MS = 2200;
/** How long a successful submission is remembered to absorb repeats. */
const REPEAT_WINDOW_MS = 10 * 60_000;

type Args = SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs;

export const register = (app: App, env: SlackEnv, timeBoxMs = SUBMIT_TIME_BOX_MS): void => {
  const inflight = new Map<string, Promise<SubmitOutcome>>();
  app.view<ViewSubmitAction>(
    // The import form has its own listener (import-confirm.ts): it is acked before it runs.
    { type: 'view_submission', callback_id: new RegExp(`^${FORM_CALLBACK_PREFIX}(?!import$)`) },
    async ({ ack, body, view, client }: Args) => {
      const meta = parseModalMeta(view.private_metadata);
      const teamId = teamOf(body as unknown as Record<string, unknown>, view.team_id);
      if (!meta || !teamId) {
        await ack();
        return;
      }
      const surface: Surface = { client, userId: body.user.id, channel: meta.c };
      const ref: { ctx?: Ctx } = {};
      // A repeated submit of the same view (double click, redelivery) shares the first one's
      // outcome and posts nothing twice; the use cases are idempotent on the view id as well.
      const key = `${teamId}:${view.id}`;
      const earlier = inflight.get(key);
      const repeat = earlier !== undefined;
      const work =
        earlier ??
        (async (): Promise<SubmitOutcome> => {
          const ctx = (ref.ctx = await slackContext(env, client, { teamId, userId: body.user.id }));
          const values = formValues(view.state.values as Record<string, Record<string, unknown>>);
          return submitForm(ctx, meta.f, meta.s, values, { requestKey: `slack:view:${view.id}` });
        })();
      if (!repeat) {
        inflight.set(key, work);
        // A failed submission may be fixed and submitted again: forget it at once.
        work.then(
          (o) => {
            if (o.kind === 'errors') inflight.delete(key);
            else setTimeout(() => inflight.delete(key), REPEAT_WINDOW_MS).unref();
          },
          () => inflight.delete(key),
        );
      }
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'late'>((resolve) => {
        timer = setTimeout(() => resolve('late'), timeBoxMs);
      });
      const first = await Promise.race([
        work.then(
          (o) => ({ o }),
          (err: unknown) => ({ err }),
        ),
        timedOut,
      ]);
      clearTimeout(timer);
      if (first !== 'late' && 'o' in first && first.o.kind === 'errors') {
        const errors = viewErrors(first.o.errors, view.blocks as { type: string; block_id?: string }[]);
        if (Object.keys(errors).length) {
          await ack({ response_action: 'errors', errors });
          return;
        }
      }
      await ack();
      if (repeat) return;
      await guarded(env, surface, ref, view.callback_id, async () => {
        if (first === 'late') {
          const locale = ref.ctx?.locale ?? env.core.deps.defaults.locale;
          await sendEphemeral(surface, notice(t(locale, 'slack.slowSubmit')), locale);
        }
        const outcome = first !== 'late' && 'o' in first ? first.o : await work;
        const ctx = ref.ctx!;
        if (outcome.kind === 'errors') {
          const problem = Object.values(outcome.errors).join(' ');
          await sendEphemeral(surface, notice(t(ctx.locale, 'slack.formProblem', { problem })), ctx.locale);
          return;
        }
        await deliverMessage(env, ctx, surface, outcome.message, outcome.visibility, outcome.dealId);
      });
    },
  );
};
