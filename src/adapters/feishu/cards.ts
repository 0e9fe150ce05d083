/**
 * card.action.trigger: button presses and form submissions on DealPulse cards.
 * The response (within 3 s) is a toast, optionally with a replacement card:
 * - a submitted form → submitForm; errors re-render the form in place with the
 *   messages under the fields (and the user's input kept); success replaces the
 *   form with the result;
 * - a button → runAction; a form is sent as a reply to the card, a message for
 *   the team goes in the card's thread, a short private answer is a toast and a
 *   longer one a direct message.
 */
import { t } from '../../i18n/index.js';
import { runAction, submitForm, unexpected } from '../../interactions/index.js';
import type { FormId } from '../../interactions/types.js';
import { isActionKind, type ActionKind, type RichMessage } from '../../presenters/rich.js';
import { enterWorkspace, type Ctx } from '../../usecases/context.js';
import { rememberThread } from '../../usecases/deals.js';
import type { FeishuDeps } from './events.js';
import { submitImport } from './transfer.js';
import {
  formCard,
  specFromSubmit,
  toastText,
  type ButtonValue,
  type Card,
  type SubmitValue,
} from './render.js';

/** The SDK's flattened card.action.trigger (schema 2.0 header + event). */
export interface CardActionEvent {
  event_id?: string;
  tenant_key?: string;
  operator?: { open_id?: string; tenant_key?: string };
  action?: { value?: unknown; tag?: string; name?: string; form_value?: Record<string, unknown> };
  context?: { open_message_id?: string; open_chat_id?: string };
}

export interface CardResponse {
  toast?: { type: 'success' | 'error' | 'info' | 'warning'; content: string };
  card?: { type: 'raw'; data: Card };
}

/** A form value as the interaction core expects it: text; lists comma-separated; dates YYYY-MM-DD. */
export function formValue(v: unknown): string {
  if (Array.isArray(v)) return v.map((x) => formValue(x)).join(',');
  if (v === null || v === undefined) return '';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  // date_picker answers "2026-05-15 +0800".
  const date = /^(\d{4}-\d{2}-\d{2}) [+-]\d{4}$/.exec(s);
  return date ? date[1]! : s;
}

function parseValue(v: unknown): Record<string, unknown> | undefined {
  if (typeof v === 'string') {
    try {
      const parsed: unknown = JSON.parse(v);
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  }
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
}

const toast = (type: NonNullable<CardResponse['toast']>['type'], content: string): CardResponse => ({
  toast: { type, content },
});

export async function handleCardAction(f: FeishuDeps, data: CardActionEvent): Promise<CardResponse> {
  const openId = data.operator?.open_id;
  const tenant = data.tenant_key ?? data.operator?.tenant_key;
  const value = parseValue(data.action?.value);
  if (!openId || !tenant || !value) return toast('error', t('zh-CN', 'feishu.toast_expired'));
  // A user of another company (external group) cannot act on this tenant's deals.
  if (data.operator?.tenant_key && data.tenant_key && data.operator.tenant_key !== data.tenant_key)
    return toast('error', t('zh-CN', 'feishu.toast_expired'));
  const ctx = await enterWorkspace(f.deps, {
    platform: 'feishu',
    externalWorkspaceId: tenant,
    userId: openId,
  });
  // Without an event id there is nothing to de-duplicate on: no shared key (a shared one would merge requests).
  const requestKey = data.event_id ? `feishu:${data.event_id}` : undefined;
  try {
    if (typeof value.f === 'string' && Array.isArray(value.n))
      return await submit(f, ctx, data, value as unknown as SubmitValue, requestKey);
    const button = value as Partial<ButtonValue>;
    if (isActionKind(button.a) && typeof button.v === 'string')
      return await press(f, ctx, data, button.a, button.v, requestKey);
    return toast('error', t(ctx.locale, 'feishu.toast_expired'));
  } catch (err) {
    return toast('error', toastText(unexpected(ctx, err)));
  }
}

async function submit(
  f: FeishuDeps,
  ctx: Ctx,
  data: CardActionEvent,
  value: SubmitValue,
  requestKey: string | undefined,
): Promise<CardResponse> {
  const raw = data.action?.form_value ?? {};
  const values: Record<string, string> = {};
  value.n.forEach((name, i) => {
    if (`f${i}` in raw) values[name] = formValue(raw[`f${i}`]);
  });
  // An import can take a minute: answered at once, the report follows.
  if (value.f === 'import') return submitImport(f, ctx, data, value, values, requestKey);
  const out = await submitForm(ctx, value.f as FormId, value.s, values, { requestKey });
  if (out.kind === 'errors') {
    const spec = specFromSubmit(value, values);
    const first = Object.values(out.errors)[0] ?? t(ctx.locale, 'feishu.toast_form_errors');
    if (!spec) return toast('error', first);
    return {
      toast: { type: 'error', content: t(ctx.locale, 'feishu.toast_form_errors') },
      card: { type: 'raw', data: formCard(spec, { locale: ctx.locale, errors: out.errors }) },
    };
  }
  const card = await f.notifier.card(ctx.locale, out.message);
  const ref = data.context;
  const dealId = out.dealId;
  if (out.visibility === 'channel' && dealId && ref?.open_chat_id && ref.open_message_id) {
    const thread = { channel: ref.open_chat_id, id: ref.open_message_id };
    later(f, async () => {
      await rememberThread(ctx, thread, dealId, 'confirmation');
    });
  }
  return {
    toast: { type: 'success', content: t(ctx.locale, 'feishu.toast_done') },
    card: { type: 'raw', data: card },
  };
}

/** Work after the callback's answer (sending cards, linking threads), tracked so shutdown and tests wait for it. */
function later(f: FeishuDeps, work: () => Promise<void>): void {
  const p = work().catch((err: unknown) => f.logger.error({ err }, 'feishu: card follow-up failed'));
  f.background?.(p);
}

const isShort = (m: RichMessage): boolean =>
  m.blocks.length === 1 && m.blocks[0]!.type === 'text' && toastText(m).length < 60;

async function press(
  f: FeishuDeps,
  ctx: Ctx,
  data: CardActionEvent,
  kind: ActionKind,
  v: string,
  requestKey: string | undefined,
): Promise<CardResponse> {
  const outcome = await runAction(ctx, kind, v, { requestKey });
  const messageId = data.context?.open_message_id;
  const chatId = data.context?.open_chat_id;
  const openId = data.operator!.open_id!;
  // The callback is answered as soon as the core has decided; cards are sent after the answer.
  if (outcome.kind === 'form') {
    const card = formCard(outcome.form, { locale: ctx.locale });
    later(f, async () => {
      if (messageId) await f.api.replyCard(messageId, card, false);
      else await f.api.sendCard('open_id', openId, card);
    });
    return {};
  }
  const message = outcome.message;
  const dealId = outcome.dealId;
  if (outcome.visibility === 'channel' && messageId && chatId) {
    later(f, async () => {
      const id = await f.api.replyCard(messageId, await f.notifier.card(ctx.locale, message), true);
      if (dealId) await rememberThread(ctx, { channel: chatId, id }, dealId, 'confirmation');
    });
    return toast('success', toastText(message));
  }
  // A one-line answer ("snoozed until…", "not allowed") is a toast, red when it reports a failure.
  if (isShort(message)) return toast(outcome.error ? 'error' : 'info', toastText(message));
  later(f, async () => {
    await f.api.sendCard('open_id', openId, await f.notifier.card(ctx.locale, message));
  });
  return toast('info', t(ctx.locale, 'feishu.toast_sent'));
}
