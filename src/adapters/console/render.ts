/**
 * RichMessage → terminal text. Headers are underlined, fields become aligned
 * "Label: value" lines, lists bullets, mentions `@id`, buttons numbered choices
 * ("[1] Advance  [2] Next step …") and charts PNG files under DATA_DIR/out/
 * whose paths are printed. Plain strings are raw user text: control characters
 * are neutralised so a deal name can never drive the terminal.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ChartImage } from '../../charts/types.js';
import type { Locale } from '../../domain/types.js';
import { t } from '../../i18n/index.js';
import type { RichAction, RichMessage, RichText, Segment } from '../../presenters/rich.js';

export interface RenderOptions {
  locale: Locale;
  /** Where charts are written (DATA_DIR/out). */
  outDir: string;
  /** ANSI bold for headers and bold segments (interactive terminals only). */
  color?: boolean;
}

export interface RenderedMessage {
  text: string;
  /** The buttons, in the order of their numbers (1-based in the text). */
  actions: RichAction[];
  /** Absolute paths of the PNG files written. */
  images: string[];
}

const BOLD = '\u001b[1m';
const RESET = '\u001b[0m';

/** Replaces terminal control characters (ESC, CSI, BEL, CR …) in raw text; keeps newlines and tabs. */
export function safeText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '\ufffd');
}

/** Width of a string in terminal columns: East Asian wide characters take two. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    w +=
      (cp >= 0x1100 && cp <= 0x115f) ||
      (cp >= 0x2e80 && cp <= 0xa4cf) ||
      (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xfe30 && cp <= 0xfe4f) ||
      (cp >= 0xff00 && cp <= 0xff60) ||
      (cp >= 0xffe0 && cp <= 0xffe6) ||
      (cp >= 0x1f300 && cp <= 0x1faff) ||
      (cp >= 0x20000 && cp <= 0x3fffd)
        ? 2
        : 1;
  }
  return w;
}

const padEnd = (s: string, width: number): string => s + ' '.repeat(Math.max(0, width - displayWidth(s)));

function segment(s: Segment, color: boolean): string {
  if (typeof s === 'string') return safeText(s);
  if ('bold' in s) return color ? `${BOLD}${safeText(s.bold)}${RESET}` : safeText(s.bold);
  if ('italic' in s) return safeText(s.italic);
  if ('code' in s) return safeText(s.code);
  if ('mention' in s) return `@${safeText(s.mention)}`;
  const text = safeText(s.text);
  const link = safeText(s.link);
  return text && text !== link ? `${text} (${link})` : link;
}

export function renderText(text: RichText, color = false): string {
  return text.map((s) => segment(s, color)).join('');
}

/** Indents every line after the first by `indent` columns. */
const hang = (s: string, indent: number): string => s.replace(/\n/g, `\n${' '.repeat(indent)}`);

/** Writes a chart to `outDir`; a second chart with the same file name in one message gets a suffix. */
async function writeImage(image: ChartImage, outDir: string, taken: Set<string>): Promise<string> {
  const ext = path.extname(image.filename) || '.png';
  const base = path.basename(image.filename, ext).replace(/[^\w.-]+/g, '_') || 'chart';
  let name = `${base}${ext}`;
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}${ext}`;
  taken.add(name);
  await mkdir(outDir, { recursive: true });
  const file = path.resolve(outDir, name);
  await writeFile(file, image.png);
  return file;
}

export function renderChoices(locale: Locale, actions: readonly RichAction[]): string {
  const list = actions.map((a, i) => `[${i + 1}] ${safeText(a.label)}`).join('  ');
  return t(locale, 'console.choices', { list });
}

export async function renderMessage(message: RichMessage, opts: RenderOptions): Promise<RenderedMessage> {
  const color = opts.color ?? false;
  const lines: string[] = [];
  const actions: RichAction[] = [];
  const images: string[] = [];
  const taken = new Set<string>();
  for (const block of message.blocks) {
    switch (block.type) {
      case 'header': {
        const title = safeText(block.text);
        lines.push(
          color ? `${BOLD}${title}${RESET}` : title,
          '─'.repeat(Math.min(60, Math.max(3, displayWidth(title)))),
        );
        break;
      }
      case 'text':
        lines.push(renderText(block.text, color));
        break;
      case 'context':
        lines.push(renderText(block.text, color));
        break;
      case 'fields': {
        const colon = opts.locale === 'zh-CN' ? '：' : ':';
        const labels = block.fields.map((f) => `${safeText(f.label)}${colon}`);
        const width = Math.max(0, ...labels.map(displayWidth));
        block.fields.forEach((f, i) =>
          lines.push(`${padEnd(labels[i]!, width)} ${hang(renderText(f.value, color), width + 1)}`),
        );
        break;
      }
      case 'list':
        for (const item of block.items) lines.push(`  • ${hang(renderText(item, color), 4)}`);
        break;
      case 'divider':
        lines.push('─'.repeat(40));
        break;
      case 'image': {
        const title = safeText(block.image.title);
        try {
          const file = await writeImage(block.image, opts.outDir, taken);
          images.push(file);
          lines.push(t(opts.locale, 'console.image', { title, path: file }));
        } catch (err) {
          const reason = err instanceof Error ? err.message : String(err);
          lines.push(t(opts.locale, 'console.imageFailed', { title, reason: safeText(reason) }));
        }
        if (block.image.altText) lines.push(`  ${hang(safeText(block.image.altText), 2)}`);
        break;
      }
      case 'actions':
        actions.push(...block.actions);
        break;
    }
  }
  if (actions.length) lines.push(renderChoices(opts.locale, actions));
  if (lines.length === 0 && message.summary) lines.push(safeText(message.summary));
  return { text: lines.join('\n'), actions, images };
}
