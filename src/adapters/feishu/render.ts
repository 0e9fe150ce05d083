/**
 * RichMessage → Feishu card JSON 2.0, FormSpec → form card. Pure functions.
 *
 * Every raw string is escaped for card markdown (HTML entities), so user text can
 * never become formatting, a link or an `<at id=all></at>` mention; mentions are
 * produced only from explicit `{mention}` segments with a plausible open_id.
 * Cards are kept under Feishu's 30 KB limit by shortening long text and then
 * dropping trailing content (never the buttons) with a visible notice.
 */
import type { ChartImage } from '../../charts/types.js';
import type { Locale } from '../../domain/types.js';
import { t } from '../../i18n/index.js';
import type { FormField, FormSpec } from '../../interactions/types.js';
import type { RichAction, RichBlock, RichMessage, RichText } from '../../presenters/rich.js';
import { plain, truncate } from '../../presenters/rich.js';

/** Feishu rejects cards over 30 KB; stay a little below. */
export const CARD_MAX_BYTES = 30 * 1024 - 512;
/** Longest markdown element we send (characters) before the size check. */
const MAX_MARKDOWN = 5000;
const MAX_PLAIN = 100;
const MAX_OPTIONS = 100;

export type CardElement = Record<string, unknown>;
export interface Card {
  schema: '2.0';
  config: { update_multi: true; summary?: { content: string } };
  header?: { title: { tag: 'plain_text'; content: string }; template: string };
  body: { elements: CardElement[] };
}

/** What a button carries back in `action.value`. */
export interface ButtonValue {
  /** RichAction kind. */
  a: string;
  /** RichAction value. */
  v: string;
}
/**
 * What a form's submit button carries back: form id, opaque state, field names in
 * component order, and the rest of the spec so the form can be shown again with
 * its errors (Feishu sends back only the values).
 */
export interface SubmitValue {
  f: string;
  s: string;
  n: string[];
  p?: Pick<FormSpec, 'title' | 'submitLabel' | 'intro' | 'fields'>;
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '*': '&#42;',
  _: '&#95;',
  '~': '&#126;',
  '`': '&#96;',
  '[': '&#91;',
  ']': '&#93;',
  '(': '&#40;',
  ')': '&#41;',
  '#': '&#35;',
  '\\': '&#92;',
  '|': '&#124;',
  $: '&#36;',
};

/** Escapes raw text for Feishu card markdown. */
export function escapeMd(s: string): string {
  return s
    .replace(/[&<>*_~`[\]()#\\|$]/g, (c) => ENTITIES[c] ?? c)
    .replace(
      /^(\s*)([-+])(\s)/gm,
      (_m, sp: string, c: string, after: string) => `${sp}&#${c.charCodeAt(0)};${after}`,
    )
    .replace(/^(\s*\d+)\.(\s)/gm, '$1&#46;$2');
}

const OPEN_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** RichText → card markdown. */
export function renderText(text: RichText): string {
  return text
    .map((s) => {
      if (typeof s === 'string') return escapeMd(s);
      if ('bold' in s) return s.bold ? `**${escapeMd(s.bold)}**` : '';
      if ('italic' in s) return s.italic ? `*${escapeMd(s.italic)}*` : '';
      if ('code' in s) return `<font color='grey'>${escapeMd(s.code)}</font>`;
      if ('mention' in s)
        return OPEN_ID.test(s.mention) && s.mention !== 'all'
          ? `<at id=${s.mention}></at>`
          : `@${escapeMd(s.mention)}`;
      const url = safeUrl(s.link);
      return url ? `[${escapeMd(s.text || s.link)}](${url})` : escapeMd(s.text);
    })
    .join('');
}

function safeUrl(url: string): string | undefined {
  if (!/^https?:\/\/[^\s<>"]+$/i.test(url)) return undefined;
  return url.replace(/\(/g, '%28').replace(/\)/g, '%29');
}

const plainText = (content: string, max = MAX_PLAIN) => ({
  tag: 'plain_text' as const,
  content: truncate(content, max),
});
const markdown = (content: string, extra: Record<string, unknown> = {}): CardElement => ({
  tag: 'markdown',
  content: truncate(content, MAX_MARKDOWN),
  ...extra,
});

export function buttonElement(action: RichAction): CardElement {
  const value: ButtonValue = { a: action.kind, v: action.value };
  return {
    tag: 'button',
    text: plainText(action.label, 40),
    type: action.style === 'danger' ? 'danger' : action.style === 'primary' ? 'primary' : 'default',
    behaviors: [{ type: 'callback', value }],
  };
}

function actionsElement(actions: RichAction[]): CardElement {
  return {
    tag: 'column_set',
    flex_mode: 'flow',
    horizontal_spacing: '8px',
    columns: actions.map((a) => ({ tag: 'column', width: 'auto', elements: [buttonElement(a)] })),
  };
}

export interface RenderOptions {
  locale: Locale;
  /** image_key of each uploaded chart; charts without a key show their alt text. */
  imageKeys?: Map<ChartImage, string>;
}

function blockElements(block: RichBlock, opts: RenderOptions): CardElement[] {
  switch (block.type) {
    case 'header':
      return [markdown(`**${escapeMd(block.text)}**`)];
    case 'text':
      return [markdown(renderText(block.text))];
    case 'fields':
      return [
        markdown(
          block.fields
            .map((f) =>
              t(opts.locale, 'feishu.field_line', { label: escapeMd(f.label), value: renderText(f.value) }),
            )
            .join('\n'),
        ),
      ];
    case 'list':
      return block.items.length ? [markdown(block.items.map((i) => `- ${renderText(i)}`).join('\n'))] : [];
    case 'context':
      return [markdown(`<font color='grey'>${renderText(block.text)}</font>`, { text_size: 'notation' })];
    case 'image': {
      const key = opts.imageKeys?.get(block.image);
      if (!key) return [markdown(escapeMd(block.image.altText))];
      return [
        {
          tag: 'img',
          img_key: key,
          alt: plainText(block.image.altText, 500),
          title: plainText(block.image.title),
          scale_type: 'fit_horizontal',
          preview: true,
        },
      ];
    }
    case 'divider':
      return [{ tag: 'hr' }];
    case 'actions':
      return block.actions.length ? [actionsElement(block.actions)] : [];
  }
}

export const cardBytes = (card: object): number => Buffer.byteLength(JSON.stringify(card), 'utf8');

/**
 * Keeps a card under the size limit: drops trailing non-button elements (one at
 * a time, from the end) and says so in a notice, so buttons keep working.
 */
function enforceLimit(card: Card, locale: Locale): Card {
  if (cardBytes(card) <= CARD_MAX_BYTES) return card;
  const notice = markdown(`<font color='grey'>${escapeMd(t(locale, 'feishu.truncated'))}</font>`, {
    text_size: 'notation',
  });
  const isButtons = (e: CardElement) => e.tag === 'column_set' || e.tag === 'button';
  const elements = [...card.body.elements];
  const trailing: CardElement[] = [];
  while (elements.length && isButtons(elements[elements.length - 1]!)) trailing.unshift(elements.pop()!);
  const build = (): Card => ({ ...card, body: { elements: [...elements, notice, ...trailing] } });
  let out = build();
  while (cardBytes(out) > CARD_MAX_BYTES && elements.length) {
    elements.pop();
    out = build();
  }
  return out;
}

/** RichMessage → card JSON 2.0. */
export function messageCard(message: RichMessage, opts: RenderOptions): Card {
  const blocks = [...message.blocks];
  let header: Card['header'];
  const first = blocks[0];
  if (first?.type === 'header') {
    blocks.shift();
    header = { title: plainText(first.text), template: 'blue' };
  }
  const card: Card = {
    schema: '2.0',
    config: { update_multi: true, summary: { content: truncate(message.summary, MAX_PLAIN) } },
    ...(header ? { header } : {}),
    body: { elements: blocks.flatMap((b) => blockElements(b, opts)) },
  };
  return enforceLimit(card, opts.locale);
}

const fieldName = (i: number): string => `f${i}`;

/** How much of long option lists a form card shows (shrunk step by step for oversized forms). */
interface OptionLimits {
  count: number;
  label: number;
}

function fieldComponent(field: FormField, i: number, limits: OptionLimits): CardElement {
  const base: CardElement = { name: fieldName(i), required: field.required, width: 'fill' };
  if (field.placeholder) base.placeholder = plainText(field.placeholder);
  const options = (field.options ?? [])
    .slice(0, limits.count)
    .map((o) => ({ text: plainText(o.label, limits.label), value: o.value }));
  switch (field.kind) {
    case 'text':
    case 'textarea':
      return {
        tag: 'input',
        ...base,
        ...(field.kind === 'textarea' ? { input_type: 'multiline_text', rows: 3 } : {}),
        ...(field.initial ? { default_value: field.initial } : {}),
        ...(field.maxLength ? { max_length: Math.min(field.maxLength, 1000) } : {}),
      };
    case 'select':
      return {
        tag: 'select_static',
        ...base,
        options,
        ...(field.initial ? { initial_option: field.initial } : {}),
      };
    case 'user':
      return { tag: 'select_person', ...base, ...(field.initial ? { initial_option: field.initial } : {}) };
    case 'date':
      return { tag: 'date_picker', ...base, ...(field.initial ? { initial_date: field.initial } : {}) };
    case 'checklist':
      return {
        tag: 'multi_select_static',
        ...base,
        options,
        ...(field.initial ? { selected_values: field.initial.split(',').filter(Boolean) } : {}),
      };
  }
}

const errorLine = (text: string): CardElement => markdown(`<font color='red'>${escapeMd(text)}</font>`);

/** FormSpec → a card with a form container; `errors` (field name → message, `_form`) are shown in place. */
export function formCard(form: FormSpec, opts: { locale: Locale; errors?: Record<string, string> }): Card {
  const errors = opts.errors ?? {};
  const known = new Set(form.fields.map((f) => f.name));
  const general = Object.entries(errors)
    .filter(([k]) => !known.has(k))
    .map(([, v]) => v);
  const fieldsWith = (limits: OptionLimits): CardElement[] =>
    form.fields.flatMap((field, i) => {
      const label = `**${escapeMd(field.label)}**${field.required ? " <font color='red'>*</font>" : ''}`;
      const out: CardElement[] = [markdown(label), fieldComponent(field, i, limits)];
      if (field.hint)
        out.push(markdown(`<font color='grey'>${escapeMd(field.hint)}</font>`, { text_size: 'notation' }));
      const err = errors[field.name];
      if (err) out.push(errorLine(err));
      return out;
    });
  const build = (withSpec: boolean, withIntro: boolean, limits: OptionLimits): Card => {
    const fields = fieldsWith(limits);
    const submit: SubmitValue = {
      f: form.id,
      s: form.state,
      n: form.fields.map((f) => f.name),
      ...(withSpec
        ? { p: { title: form.title, submitLabel: form.submitLabel, intro: form.intro, fields: form.fields } }
        : {}),
    };
    const button: CardElement = {
      tag: 'button',
      name: 'submit',
      text: plainText(form.submitLabel, 40),
      type: 'primary',
      form_action_type: 'submit',
      behaviors: [{ type: 'callback', value: submit }],
    };
    const intro = withIntro ? (form.intro ?? []).map((text) => markdown(renderText(text))) : [];
    return {
      schema: '2.0',
      config: { update_multi: true, summary: { content: truncate(form.title, MAX_PLAIN) } },
      header: { title: plainText(form.title), template: Object.keys(errors).length ? 'red' : 'blue' },
      body: {
        elements: [
          ...general.map(errorLine),
          ...intro,
          { tag: 'form', name: 'form', elements: [...fields, button] },
        ],
      },
    };
  };
  // Oversized forms first stop carrying their spec (errors then come as a toast), then lose
  // the intro, then show shorter and fewer options.
  const steps: [boolean, boolean, OptionLimits][] = [
    [true, true, { count: MAX_OPTIONS, label: MAX_PLAIN }],
    [false, true, { count: MAX_OPTIONS, label: MAX_PLAIN }],
    [false, false, { count: MAX_OPTIONS, label: MAX_PLAIN }],
    [false, false, { count: MAX_OPTIONS, label: 30 }],
    [false, false, { count: 50, label: 20 }],
    [false, false, { count: 20, label: 20 }],
  ];
  let card: Card | undefined;
  for (const step of steps) {
    card = build(...step);
    if (cardBytes(card) <= CARD_MAX_BYTES) break;
  }
  return card!;
}

/** Rebuilds the FormSpec a submission came from, with the submitted values as initial values. */
export function specFromSubmit(value: SubmitValue, values: Record<string, string>): FormSpec | undefined {
  if (!value.p) return undefined;
  return {
    id: value.f as FormSpec['id'],
    state: value.s,
    title: value.p.title,
    submitLabel: value.p.submitLabel,
    ...(value.p.intro ? { intro: value.p.intro } : {}),
    fields: value.p.fields.map((f) => (values[f.name] !== undefined ? { ...f, initial: values[f.name] } : f)),
  };
}

/** Plain text of a RichMessage for toasts (Feishu toasts show plain text). */
export function toastText(message: RichMessage): string {
  const firstText = message.blocks.find((b) => b.type === 'text');
  return truncate(
    message.summary || (firstText && firstText.type === 'text' ? plain(firstText.text) : ''),
    60,
  );
}
