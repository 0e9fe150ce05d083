/**
 * A platform-neutral message: what a presenter produces and what the Slack,
 * Feishu and console adapters render (Block Kit, card JSON 2.0, text).
 * Text is a list of segments: plain strings are raw (user text included) and
 * each adapter escapes them for its markup; mentions and links are explicit, so
 * a deal named `<!channel>` or `<@U123>` can never ping anyone.
 */
import type { ChartImage } from '../charts/types.js';

export type Segment =
  | string
  | { bold: string }
  | { italic: string }
  | { code: string }
  | { mention: string }
  | { link: string; text: string };

export type RichText = Segment[];

/** Buttons every surface offers on deals; adapters map them to their own action ids. */
export const ACTION_KINDS = [
  'advance',
  'next_step',
  'note',
  'snooze',
  'snooze_1d',
  'snooze_3d',
  'snooze_1w',
  'lost',
  'won',
  'edit',
  'show',
  'page',
] as const;

export type ActionKind = (typeof ACTION_KINDS)[number];

export const isActionKind = (v: unknown): v is ActionKind =>
  typeof v === 'string' && (ACTION_KINDS as readonly string[]).includes(v);

export interface RichAction {
  kind: ActionKind;
  label: string;
  /** Opaque value carried back (a deal id, a page number …). */
  value: string;
  style?: 'primary' | 'danger';
}

export type RichBlock =
  | { type: 'header'; text: string }
  | { type: 'text'; text: RichText }
  | { type: 'fields'; fields: { label: string; value: RichText }[] }
  | { type: 'list'; items: RichText[] }
  | { type: 'context'; text: RichText }
  | { type: 'image'; image: ChartImage }
  | { type: 'divider' }
  | { type: 'actions'; actions: RichAction[] };

export interface RichMessage {
  /** Plain-text summary for notifications and fallbacks. */
  summary: string;
  blocks: RichBlock[];
}

/** A message of one line of plain text. */
export const textMessage = (text: string): RichMessage => ({
  summary: text,
  blocks: [{ type: 'text', text: [text] }],
});

/** Concatenates segments as plain text (console, notification text, alt text). */
export function plain(text: RichText, mention: (id: string) => string = (id) => `@${id}`): string {
  return text
    .map((s) => {
      if (typeof s === 'string') return s;
      if ('bold' in s) return s.bold;
      if ('italic' in s) return s.italic;
      if ('code' in s) return s.code;
      if ('mention' in s) return mention(s.mention);
      return s.text;
    })
    .join('');
}

/** Truncates a string to `max` characters with an ellipsis. */
export function truncate(s: string, max: number): string {
  const chars = [...s];
  return chars.length <= max ? s : `${chars.slice(0, Math.max(0, max - 1)).join('')}…`;
}
