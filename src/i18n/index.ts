/**
 * One message catalogue per language (en, zh-CN), split by area under catalog/.
 * `t(locale, key, params)` is the only way user-facing text is produced.
 */
import i18next, { type TOptions } from 'i18next';
import type { DomainError } from '../domain/errors.js';
import { stageLabel } from '../domain/pipeline.js';
import type { Locale, StageDef } from '../domain/types.js';
import * as analytics from './catalog/analytics.js';
import * as consoleUi from './catalog/console.js';
import * as core from './catalog/core.js';
import * as feishu from './catalog/feishu.js';
import * as jobs from './catalog/jobs.js';
import * as slack from './catalog/slack.js';
import * as transfer from './catalog/transfer.js';

export type { Locale };
export { LOCALES, toLocale } from './format.js';

const resources = {
  en: {
    translation: {
      ...core.en,
      slack: slack.en,
      feishu: feishu.en,
      console: consoleUi.en,
      analytics: analytics.en,
      jobs: jobs.en,
      transfer: transfer.en,
    },
  },
  'zh-CN': {
    translation: {
      ...core.zhCN,
      slack: slack.zhCN,
      feishu: feishu.zhCN,
      console: consoleUi.zhCN,
      analytics: analytics.zhCN,
      jobs: jobs.zhCN,
      transfer: transfer.zhCN,
    },
  },
};

export const catalogs = resources;

const i18n = i18next.createInstance();
void i18n.init({
  resources,
  lng: 'en',
  fallbackLng: 'en',
  initAsync: false,
  interpolation: { escapeValue: false },
  returnNull: false,
  showSupportNotice: false,
} as Parameters<typeof i18n.init>[0]);

/** Translates `key` for `locale`. A missing key returns the key itself (tests check the catalogues are complete). */
export function t(locale: Locale, key: string, params?: Record<string, unknown>): string {
  const options = { lng: locale, ...params } as TOptions;
  return (i18n.t as (k: string, o: TOptions) => string)(key, options);
}

/** Whether `key` exists in the catalogue of `locale`. */
export function hasKey(locale: Locale, key: string): boolean {
  return i18n.exists(key, { lng: locale, fallbackLng: false } as TOptions);
}

/** Localised label of a field key (`amount`, `bant.need`, `custom.region` …). */
export function fieldLabel(
  locale: Locale,
  field: string,
  stages?: readonly StageDef[],
  customLabels?: Record<string, string>,
): string {
  void stages;
  if (field.startsWith('custom.')) return customLabels?.[field.slice(7)] ?? field.slice(7);
  return hasKey(locale, `field.${field}`) ? t(locale, `field.${field}`) : field;
}

const MAX_ECHO = 60;
const echo = (v: string | undefined): string =>
  v === undefined ? '' : v.length > MAX_ECHO ? `${v.slice(0, MAX_ECHO - 1)}…` : v;

export interface RenderErrorOptions {
  stages?: readonly StageDef[];
  /** Custom field labels by key, in the user's language. */
  customLabels?: Record<string, string>;
}

/**
 * Renders a typed error as one user-facing sentence (plus a hint of what is
 * accepted). Invalid errors for several fields render one line per field.
 */
export function renderError(locale: Locale, error: DomainError, opts: RenderErrorOptions = {}): string {
  switch (error.kind) {
    case 'NotFound': {
      const base = t(locale, `notFound.${error.entity}`, { ref: echo(error.ref) });
      return error.suggestions?.length
        ? `${base} ${t(locale, 'notFound.suggestions', { list: error.suggestions.join(', ') })}`
        : base;
    }
    case 'Forbidden':
      return hasKey(locale, `forbidden.${error.action}`)
        ? t(locale, `forbidden.${error.action}`)
        : t(locale, 'forbidden.generic');
    case 'Conflict':
      return t(locale, `conflict.${error.reason}`, { ref: error.ref ?? '' });
    case 'Invalid': {
      const lines = [error, ...(error.more ?? [])].map((e) => renderInvalid(locale, e, opts));
      return lines.join('\n');
    }
  }
}

/** One invalid field as a sentence: what was wrong, then what is accepted. */
export function renderInvalid(
  locale: Locale,
  e: { field: string; value?: string; reason?: string; params?: Record<string, string | number> },
  opts: RenderErrorOptions = {},
): string {
  const params: Record<string, unknown> = {
    ...e.params,
    field: fieldLabel(locale, e.field, opts.stages, opts.customLabels),
    value: echo(e.value),
  };
  if (e.reason === 'required_for_stage' && e.params) {
    params.stageLabel = opts.stages
      ? stageLabel(opts.stages, String(e.params.stage), locale)
      : e.params.stage;
    params.fieldLabels = String(e.params.fields)
      .split(', ')
      .map((f) => fieldLabel(locale, f, opts.stages, opts.customLabels))
      .join(locale === 'zh-CN' ? '、' : ', ');
  }
  if (e.reason === 'stage_unknown' || e.reason === 'stage_ambiguous') {
    params.accepted = opts.stages
      ? opts.stages
          .filter((s) => s.active)
          .map((s) => s.labels[locale])
          .join(locale === 'zh-CN' ? '、' : ', ')
      : (e.params?.accepted ?? '');
  }
  if (e.reason === 'source_unknown' && e.params?.accepted) {
    params.accepted = String(e.params.accepted)
      .split(/,\s*/)
      .map((k) => t(locale, `source.${k}`))
      .join(locale === 'zh-CN' ? '、' : ', ');
  }
  const reasonKey =
    e.reason && hasKey(locale, `invalid.${e.reason}`) ? `invalid.${e.reason}` : 'invalid.generic';
  const sentence = t(locale, reasonKey, params);
  const hint = hasKey(locale, `accepted.${e.field}`) ? t(locale, `accepted.${e.field}`, params) : '';
  const needsHint = ![
    'text_empty',
    'text_too_long',
    'next_step_required',
    'reason_required_backward',
    'required_for_stage',
    'date_past',
  ].includes(e.reason ?? '');
  return hint && needsHint ? `${sentence}${locale === 'zh-CN' ? '' : ' '}${hint}` : sentence;
}
