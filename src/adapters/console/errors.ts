/**
 * Tells whether an Outcome reports a failure, for `--exec` exit codes.
 *
 * The interaction core renders typed errors (Invalid, NotFound, Forbidden,
 * Conflict) and unknown commands as ordinary ephemeral messages. Until Outcome
 * carries an explicit flag (`error?: DomainError['kind'] | 'unknown_command'`,
 * requested from the interaction core; honoured here as soon as it exists), a
 * message counts as an error when it is an ephemeral text message, not about a
 * deal, whose text starts like one of the catalogue's error sentences
 * (`notFound.*`, `forbidden.*`, `conflict.*`, `invalid.*`, `error.*`,
 * `help.unknown`) in the user's language.
 */
import type { Locale } from '../../domain/types.js';
import { catalogs } from '../../i18n/index.js';
import type { Outcome } from '../../interactions/types.js';

const ERROR_AREAS = ['notFound', 'forbidden', 'conflict', 'invalid', 'error'] as const;
const cache = new Map<Locale, RegExp[]>();

function leaves(node: unknown, out: string[]): void {
  if (typeof node === 'string') out.push(node);
  else if (node && typeof node === 'object') for (const v of Object.values(node)) leaves(v, out);
}

function templateRegex(template: string): RegExp | undefined {
  const parts = template.split(/\{\{[^}]+\}\}/);
  // A template that is (almost) all placeholders would match anything.
  if (parts.join('').trim().length < 4) return undefined;
  const body = parts.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*?');
  return new RegExp(`^${body}`);
}

function errorPatterns(locale: Locale): RegExp[] {
  let list = cache.get(locale);
  if (!list) {
    const catalog = catalogs[locale].translation as unknown as Record<string, unknown>;
    const templates: string[] = [];
    for (const area of ERROR_AREAS) leaves(catalog[area], templates);
    leaves((catalog.help as Record<string, unknown> | undefined)?.unknown, templates);
    list = templates.map(templateRegex).filter((r): r is RegExp => r !== undefined);
    cache.set(locale, list);
  }
  return list;
}

export function isErrorOutcome(locale: Locale, outcome: Outcome): boolean {
  if (outcome.kind !== 'message') return false;
  const flagged = (outcome as { error?: unknown }).error;
  if (flagged !== undefined) return Boolean(flagged);
  if (outcome.visibility !== 'ephemeral' || outcome.dealId) return false;
  const first = outcome.message.blocks.find((b) => b.type === 'text');
  const text =
    first && first.type === 'text' ? first.text.map((s) => (typeof s === 'string' ? s : '')).join('') : '';
  const candidates = [outcome.message.summary, text].filter(Boolean);
  const patterns = errorPatterns(locale);
  return candidates.some((c) => patterns.some((re) => re.test(c)));
}
