/**
 * Platform-neutral messages and forms → Block Kit. All user text is escaped
 * for mrkdwn here, and every Block Kit limit is enforced here (see limits.ts).
 */
import type { ChartImage } from '../../charts/types.js';
import type { Locale } from '../../domain/types.js';
import { t } from '../../i18n/index.js';
import type { FormField, FormId, FormSpec } from '../../interactions/types.js';
import {
  isActionKind,
  type ActionKind,
  type RichAction,
  type RichBlock,
  type RichMessage,
  type RichText,
} from '../../presenters/rich.js';
import { LIMITS } from './limits.js';

export interface SlackBlock {
  type: string;
  block_id?: string;
  [key: string]: unknown;
}

export interface SlackMessage {
  /** Notification / fallback text (escaped mrkdwn). */
  text: string;
  blocks: SlackBlock[];
  /** Charts to upload as files next to the message (blocks cannot carry bytes). */
  images: ChartImage[];
}

export interface SlackModal {
  type: 'modal';
  callback_id: string;
  title: PlainText;
  submit: PlainText;
  close: PlainText;
  private_metadata: string;
  blocks: SlackBlock[];
}

export interface PlainText {
  type: 'plain_text';
  text: string;
  emoji?: boolean;
}

// ── text ─────────────────────────────────────────────────────────────────────
/** Escapes raw text for mrkdwn: `<!channel>` and `<@U123>` become harmless text. */
export function escapeMrkdwn(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Reverses Slack's escaping of message text (what users typed). */
export function unescapeMrkdwn(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Truncates to `max` characters with an ellipsis, never cutting an entity or a `<…>` token in half. */
export function clip(s: string, max: number): string {
  const chars = [...s];
  if (chars.length <= max) return s;
  let cut = chars.slice(0, Math.max(0, max - 1)).join('');
  cut = cut.replace(/&[a-z]{0,4}$/, '').replace(/<[^>]*$/, '');
  return `${cut}…`;
}

const USER_ID = /^[UW][A-Z0-9]{2,30}$/;
const SAFE_URL = /^(https?:\/\/|mailto:)[^\s<>|]+$/i;

/** Wraps `s` in a mrkdwn marker unless it would not render (empty or whitespace at the edges). */
function wrap(marker: string, s: string): string {
  const e = escapeMrkdwn(s).replace(new RegExp(`\\${marker}`, 'g'), '');
  return e.trim() === '' ? e : `${marker}${e.trim()}${marker}`;
}

export function mrkdwn(text: RichText): string {
  return text
    .map((seg) => {
      if (typeof seg === 'string') return escapeMrkdwn(seg);
      if ('bold' in seg) return wrap('*', seg.bold);
      if ('italic' in seg) return wrap('_', seg.italic);
      if ('code' in seg) return wrap('`', seg.code);
      if ('mention' in seg)
        return USER_ID.test(seg.mention) ? `<@${seg.mention}>` : escapeMrkdwn(`@${seg.mention}`);
      if (SAFE_URL.test(seg.link)) return `<${seg.link}|${escapeMrkdwn(seg.text).replace(/\|/g, '¦')}>`;
      return escapeMrkdwn(seg.text);
    })
    .join('');
}

const plainText = (s: string, max: number): PlainText => ({
  type: 'plain_text',
  text: clip(s, max) || ' ',
  emoji: true,
});
const mrkdwnText = (s: string, max: number = LIMITS.text) => ({ type: 'mrkdwn', text: clip(s, max) || ' ' });

// ── messages ────────────────────────────────────────────────────────────────
export const ACTION_PREFIX = 'dp:';

/** Action id of a RichAction button; `n` disambiguates repeated kinds inside one block. */
export function actionId(kind: ActionKind, n = 0): string {
  return n ? `${ACTION_PREFIX}${kind}:${n}` : `${ACTION_PREFIX}${kind}`;
}

/** The RichAction kind behind a Slack action_id, or undefined when it is not ours. */
export function parseActionId(id: string): ActionKind | undefined {
  if (!id.startsWith(ACTION_PREFIX)) return undefined;
  const kind = id.slice(ACTION_PREFIX.length).split(':')[0];
  return isActionKind(kind) ? kind : undefined;
}

function button(a: RichAction, n: number): SlackBlock {
  return {
    type: 'button',
    action_id: actionId(a.kind, n),
    text: plainText(a.label, LIMITS.buttonText),
    value: a.value.slice(0, LIMITS.buttonValue),
    ...(a.style ? { style: a.style } : {}),
  };
}

function actionsBlocks(actions: RichAction[]): SlackBlock[] {
  const seen = new Map<string, number>();
  const elements = actions.map((a) => {
    const n = seen.get(a.kind) ?? 0;
    seen.set(a.kind, n + 1);
    return button(a, n);
  });
  const out: SlackBlock[] = [];
  for (let i = 0; i < elements.length; i += LIMITS.actionsElements)
    out.push({ type: 'actions', elements: elements.slice(i, i + LIMITS.actionsElements) });
  return out;
}

/** Splits mrkdwn lines into chunks that each fit one text object. */
function chunkLines(lines: string[], max: number): string[] {
  const chunks: string[] = [];
  let cur = '';
  for (const line of lines) {
    const l = clip(line, max);
    if (cur && [...cur].length + 1 + [...l].length > max) {
      chunks.push(cur);
      cur = l;
    } else cur = cur ? `${cur}\n${l}` : l;
  }
  if (cur) chunks.push(cur);
  return chunks;
}

function renderBlock(
  b: RichBlock,
  locale: Locale,
  images: ChartImage[],
  inlineImages: boolean,
): SlackBlock[] {
  switch (b.type) {
    case 'header':
      return [{ type: 'header', text: plainText(b.text, LIMITS.headerText) }];
    case 'text':
      return chunkLines(mrkdwn(b.text).split('\n'), LIMITS.text).map((text) => ({
        type: 'section',
        text: mrkdwnText(text),
      }));
    case 'fields': {
      const fields = b.fields.map((f) =>
        mrkdwnText(
          `*${escapeMrkdwn(f.label)}*\n${mrkdwn(f.value) || escapeMrkdwn(t(locale, 'ui.none'))}`,
          LIMITS.fieldText,
        ),
      );
      const out: SlackBlock[] = [];
      for (let i = 0; i < fields.length; i += LIMITS.fields)
        out.push({ type: 'section', fields: fields.slice(i, i + LIMITS.fields) });
      return out;
    }
    case 'list':
      if (!b.items.length) return [];
      return chunkLines(
        b.items.map((item) => `• ${mrkdwn(item)}`),
        LIMITS.text,
      ).map((text) => ({ type: 'section', text: mrkdwnText(text) }));
    case 'context':
      return [{ type: 'context', elements: [mrkdwnText(mrkdwn(b.text))] }];
    case 'image':
      if (inlineImages) images.push(b.image);
      return [
        {
          type: 'context',
          elements: [
            mrkdwnText(
              inlineImages
                ? escapeMrkdwn(b.image.altText)
                : escapeMrkdwn(t(locale, 'slack.imageOmitted', { title: b.image.title })) +
                    '\n' +
                    escapeMrkdwn(b.image.altText),
            ),
          ],
        },
      ];
    case 'divider':
      return [{ type: 'divider' }];
    case 'actions':
      return b.actions.length ? actionsBlocks(b.actions) : [];
  }
}

/** Keeps at most `max` blocks; the last one says how many were left out. */
function capBlocks(blocks: SlackBlock[], max: number, locale: Locale): SlackBlock[] {
  if (blocks.length <= max) return blocks;
  // Keep trailing actions (they act on what is shown) when they fit.
  const tail = blocks[blocks.length - 1]?.type === 'actions' ? [blocks[blocks.length - 1]!] : [];
  const head = blocks.slice(0, max - 1 - tail.length);
  const dropped = blocks.length - head.length - tail.length;
  return [
    ...head,
    {
      type: 'context',
      elements: [mrkdwnText(escapeMrkdwn(t(locale, 'slack.truncated', { count: dropped })))],
    },
    ...tail,
  ];
}

export interface RenderOptions {
  /** Charts are uploaded as files when the message is posted (not for ephemeral replies). */
  uploadImages?: boolean;
  maxBlocks?: number;
}

export function renderMessage(message: RichMessage, locale: Locale, opts: RenderOptions = {}): SlackMessage {
  const images: ChartImage[] = [];
  const blocks = message.blocks.flatMap((b) => renderBlock(b, locale, images, opts.uploadImages ?? false));
  return {
    text: clip(escapeMrkdwn(message.summary), LIMITS.messageText),
    blocks: capBlocks(blocks, opts.maxBlocks ?? LIMITS.messageBlocks, locale),
    images,
  };
}

// ── forms → modals ──────────────────────────────────────────────────────────
export const FORM_CALLBACK_PREFIX = 'dp:form:';
/** Every input's element uses this action id; the block id is the field name. */
export const INPUT_ACTION_ID = 'v';

export interface ModalMeta {
  /** The form id. */
  f: FormId;
  /** The form's opaque state. */
  s: string;
  /** Channel the form was opened from (where the outcome is posted). */
  c?: string | undefined;
}

function option(o: { value: string; label: string }) {
  return { text: plainText(o.label, LIMITS.optionText), value: o.value.slice(0, LIMITS.optionValue) };
}

function inputElement(f: FormField): SlackBlock {
  const placeholder = f.placeholder ? { placeholder: plainText(f.placeholder, LIMITS.placeholder) } : {};
  switch (f.kind) {
    case 'text':
    case 'textarea': {
      const max = Math.min(f.maxLength ?? LIMITS.inputMaxLength, LIMITS.inputMaxLength);
      return {
        type: 'plain_text_input',
        action_id: INPUT_ACTION_ID,
        multiline: f.kind === 'textarea',
        max_length: max,
        ...(f.initial ? { initial_value: [...f.initial].slice(0, max).join('') } : {}),
        ...placeholder,
      };
    }
    case 'select': {
      const options = (f.options ?? []).slice(0, LIMITS.options).map(option);
      const initial = options.find((o) => o.value === f.initial);
      return {
        type: 'static_select',
        action_id: INPUT_ACTION_ID,
        options,
        ...(initial ? { initial_option: initial } : {}),
        ...placeholder,
      };
    }
    case 'user':
      return {
        type: 'users_select',
        action_id: INPUT_ACTION_ID,
        ...(f.initial ? { initial_user: f.initial } : {}),
        ...placeholder,
      };
    case 'date':
      return {
        type: 'datepicker',
        action_id: INPUT_ACTION_ID,
        ...(f.initial && /^\d{4}-\d{2}-\d{2}$/.test(f.initial) ? { initial_date: f.initial } : {}),
        ...placeholder,
      };
    case 'checklist': {
      const all = (f.options ?? []).slice(0, LIMITS.options).map(option);
      const chosen = new Set(
        (f.initial ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      );
      const initial = all.filter((o) => chosen.has(o.value));
      const few = all.length <= LIMITS.checkboxOptions;
      return {
        type: few ? 'checkboxes' : 'multi_static_select',
        action_id: INPUT_ACTION_ID,
        options: all,
        ...(initial.length ? { initial_options: initial } : {}),
        ...(few ? {} : placeholder),
      };
    }
  }
}

export function renderModal(form: FormSpec, locale: Locale, channel?: string): SlackModal {
  const intro: SlackBlock[] = (form.intro ?? []).flatMap((text) =>
    chunkLines(mrkdwn(text).split('\n'), LIMITS.text).map((s) => ({ type: 'section', text: mrkdwnText(s) })),
  );
  const inputs: SlackBlock[] = form.fields
    .filter((f) => (f.kind !== 'select' && f.kind !== 'checklist' ? true : (f.options ?? []).length > 0))
    .map((f) => ({
      type: 'input',
      block_id: f.name.slice(0, LIMITS.blockId),
      optional: !f.required,
      label: plainText(f.label, LIMITS.label),
      ...(f.hint ? { hint: plainText(f.hint, LIMITS.hint) } : {}),
      element: inputElement(f),
    }));
  const room = LIMITS.viewBlocks - inputs.length;
  const blocks = [
    ...(intro.length > room ? capBlocks(intro, Math.max(1, room), locale) : intro),
    ...inputs,
  ].slice(0, LIMITS.viewBlocks);
  let meta: ModalMeta = { f: form.id, s: form.state, c: channel };
  if (JSON.stringify(meta).length > LIMITS.privateMetadata) meta = { f: form.id, s: form.state };
  const privateMetadata = JSON.stringify(meta);
  if (privateMetadata.length > LIMITS.privateMetadata)
    throw new Error(`form state of ${form.id} exceeds private_metadata`);
  return {
    type: 'modal',
    callback_id: `${FORM_CALLBACK_PREFIX}${form.id}`,
    title: plainText(form.title, LIMITS.viewTitle),
    submit: plainText(form.submitLabel, LIMITS.viewButton),
    close: plainText(t(locale, 'ui.cancel'), LIMITS.viewButton),
    private_metadata: privateMetadata,
    blocks,
  };
}

export function parseModalMeta(raw: string | undefined): ModalMeta | undefined {
  try {
    const m = JSON.parse(raw ?? '') as Partial<ModalMeta>;
    return typeof m.f === 'string' && typeof m.s === 'string' ? { f: m.f, s: m.s, c: m.c } : undefined;
  } catch {
    return undefined;
  }
}

/** The state of a submitted modal, as the interaction core wants it: field name → text. */
export function formValues(state: Record<string, Record<string, unknown>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [blockId, actions] of Object.entries(state)) {
    const v = actions[INPUT_ACTION_ID] as
      | {
          type?: string;
          value?: string | null;
          selected_option?: { value: string } | null;
          selected_options?: { value: string }[];
          selected_user?: string | null;
          selected_date?: string | null;
        }
      | undefined;
    if (!v) continue;
    switch (v.type) {
      case 'static_select':
        out[blockId] = v.selected_option?.value ?? '';
        break;
      case 'checkboxes':
      case 'multi_static_select':
        out[blockId] = (v.selected_options ?? []).map((o) => o.value).join(',');
        break;
      case 'users_select':
        out[blockId] = v.selected_user ?? '';
        break;
      case 'datepicker':
        out[blockId] = v.selected_date ?? '';
        break;
      default:
        out[blockId] = v.value ?? '';
    }
  }
  return out;
}

/**
 * Field errors → `response_action: errors`, keyed by the input blocks of the view.
 * An error for `nextStep` lands on `nextStep.text`; errors for no field (`_form`)
 * land on the first input so the user sees them.
 */
export function viewErrors(
  errors: Record<string, string>,
  viewBlocks: { type: string; block_id?: string }[],
): Record<string, string> {
  const inputs = viewBlocks.filter((b) => b.type === 'input' && b.block_id).map((b) => b.block_id!);
  const out: Record<string, string> = {};
  const add = (id: string, msg: string) => {
    out[id] = clip(out[id] ? `${out[id]} ${msg}` : msg, LIMITS.text);
  };
  for (const [field, msg] of Object.entries(errors)) {
    const target =
      inputs.find((id) => id === field) ?? inputs.find((id) => id.startsWith(`${field}.`)) ?? inputs[0];
    if (target) add(target, msg);
  }
  return out;
}
