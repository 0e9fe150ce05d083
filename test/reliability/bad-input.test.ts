/**
 * A corpus of hostile and malformed input through the shared interaction core
 * (every surface — Slack, Feishu, console — calls it): each case gets a clear,
 * localized message naming the field, nothing wrong is stored, nothing crashes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/app.js';
import type { Locale } from '../../src/domain/types.js';
import { runCommand, submitForm, type Outcome } from '../../src/interactions/index.js';
import { plain } from '../../src/presenters/rich.js';
import { listDeals } from '../../src/usecases/deals.js';
import { as, testCore, type TestClock } from '../helpers/core.js';

let core: Core & { clock: TestClock };
let code = '';

beforeAll(async () => {
  core = await testCore(undefined, 'badinput');
  const ctx = await as(core, 'owner');
  const o = await runCommand(ctx, '/deal new Target 10k Target Co');
  if (o.kind !== 'message') throw new Error('setup failed');
  code = /D-\d+/.exec(o.message.summary)![0];
});
afterAll(() => core.stop());

const shown = (o: Outcome): string =>
  o.kind === 'message'
    ? o.message.blocks.map((b) => ('text' in b && Array.isArray(b.text) ? plain(b.text) : '')).join('\n')
    : `form:${o.form.id}`;

async function dealCount(): Promise<number> {
  const ctx = await as(core, 'owner');
  const all = await listDeals(ctx, { kind: 'all' }, 0, 1);
  return all.ok ? all.value.total : -1;
}

const ZW = '\u200b';
const RLO = '\u202e';

const BAD_AMOUNTS = [
  'abc',
  'lots',
  '-500',
  '−5k',
  '1e309',
  '1e14',
  '99999999999999',
  '$',
  '¥',
  '5万万',
  '1.2.3',
  '50kk',
  '12,5',
  '{"$ne": null}',
  '$gt',
  'NaN',
  'Infinity',
  '0x1F',
  '5 6',
  '1/2',
  '50k USD EUR',
  '€50 USD',
  'ten thousand',
  '１２ａ',
  '1.234',
  '50%',
  '--5',
  '5-',
  '()',
  '<@U123>',
];
const BAD_DATES = [
  'someday',
  'yesterday-ish',
  '2026-02-30',
  '2026-13-01',
  '12/01',
  '01/12/2026',
  '1999-01-01',
  '2300-01-01',
  '{"$gt": ""}',
  'next blue moon',
  '32号',
  '周八',
  '-3d',
  'tomorrow tomorrow',
  '2026/02/29',
  '13月1日',
  '0',
  'T',
  '$where',
  '<!channel>',
  `2026-12-01${RLO}`,
  'friday13',
  '明年后天大后天',
  '9999-99-99',
];
const BAD_CODES = [
  'D-0',
  'D-abc',
  '12.5',
  'D--1',
  'D-99999999999',
  '{"$ne": null}',
  '$gt',
  '<@U1>',
  'D 1 2',
  '#',
  '-1',
  'DD-1',
  '🙂',
  '\u200b',
  'x',
];
const BAD_STAGES = [
  'nowhere',
  'zz',
  'p',
  '🙂',
  '{"$in": []}',
  'stage<script>',
  'won lost',
  '方案报价签约',
  '$',
  'qx',
];
const BAD_DURATIONS = [
  'forever',
  '0d',
  '-1d',
  '12h',
  '3',
  'soon',
  '{"$gt": 0}',
  '100000d',
  '1 year and a day',
  '周',
];
const HOSTILE_NAMES = [
  '<!channel>',
  '<!here> ping',
  '<@U123> hi',
  '<#C123>',
  '&amp; <b>bold</b>',
  '*bold* _it_ ~s~ `code`',
  '[link](http://evil)',
  '<at id=all></at>',
  `Acme${ZW}Corp`,
  `${RLO}evil.exe`,
  '🚀 Rocket 火箭',
  '👨‍👩‍👧 family',
  '{"$ne": null}',
  '$where: 1',
  'Robert"); DROP TABLE deals;--',
  '\\u0000null',
  '上海\n项目',
];

describe('bad input corpus', () => {
  it('has at least 100 cases', () => {
    const total =
      BAD_AMOUNTS.length +
      BAD_DATES.length +
      BAD_CODES.length +
      BAD_STAGES.length +
      BAD_DURATIONS.length +
      HOSTILE_NAMES.length +
      4;
    expect(total).toBeGreaterThanOrEqual(100);
  });

  const locales: Locale[] = ['en', 'zh-CN'];

  it.each(BAD_AMOUNTS.map((a, i) => [a, locales[i % 2]!] as const))(
    'amount %j (%s): inline error, nothing stored',
    async (amount, locale) => {
      const before = await dealCount();
      const ctx = await as(core, 'owner', { locale });
      const r = await submitForm(ctx, 'deal_new', '{}', {
        name: 'Bad amount',
        amount,
        stage: 'lead',
        owner: 'owner',
      });
      expect(r.kind).toBe('errors');
      if (r.kind === 'errors') expect(r.errors.amount).toMatch(locale === 'en' ? /^Amount/ : /^金额/);
      expect(await dealCount()).toBe(before);
    },
  );

  it.each(BAD_DATES.map((d, i) => [d, locales[i % 2]!] as const))(
    'due date %j (%s): inline error on the due field',
    async (due, locale) => {
      const ctx = await as(core, 'owner', { locale });
      const r = await submitForm(ctx, 'next_step', JSON.stringify({ d: await dealId() }), {
        'nextStep.text': 'Call',
        'nextStep.due': due,
      });
      expect(r.kind).toBe('errors');
      if (r.kind === 'errors')
        expect(r.errors['nextStep.due']).toMatch(locale === 'en' ? /^Due date/ : /^截止日期/);
    },
  );

  it.each(BAD_CODES)('deal code %j: a clear message, never another deal', async (bad) => {
    const ctx = await as(core, 'owner', { locale: 'en' });
    const text = shown(await runCommand(ctx, `/deal show "${bad}"`));
    expect(text).toMatch(
      /is not a deal code|was not found in this workspace|Deal code is required|DealPulse commands/,
    );
    expect(text).not.toContain('Target Co');
  });

  it.each(BAD_STAGES)('stage %j: names the stages that exist', async (stage) => {
    const ctx = await as(core, 'owner', { locale: 'zh-CN' });
    const text = shown(await runCommand(ctx, `/deal advance ${code} "${stage}"`));
    expect(text).toMatch(/没有名为“.*”的阶段|匹配到多个阶段/);
    expect(text).toContain('潜在客户');
  });

  it.each(BAD_DURATIONS)('snooze duration %j: refused with what is accepted', async (d) => {
    const ctx = await as(core, 'owner', { locale: 'en' });
    const text = shown(await runCommand(ctx, `/deal snooze ${code} "${d}"`));
    expect(text).toMatch(/^Duration/);
    expect(text).toMatch(/Try 1d, 3 days, 1w or 3天|at most|between/);
  });

  it.each(HOSTILE_NAMES)('deal named %j is stored as text, never as markup or a query', async (name) => {
    const ctx = await as(core, 'owner');
    const r = await submitForm(ctx, 'deal_new', '{}', { name, stage: 'lead', owner: 'owner' });
    expect(r.kind).toBe('done');
    const stored = await core.deps.store.listDeals(
      ctx.workspace.id,
      { text: 'x'.slice(0, 0) || undefined },
      { limit: 1, sort: { number: -1 } },
    );
    const deal = stored.deals[0]!;
    expect(deal.name).toBe(name.replace(/[\u200b\u202e]/g, '').trim());
  });

  it('10,000-character names and notes are refused with the limit; nothing stored', async () => {
    const before = await dealCount();
    const ctx = await as(core, 'owner', { locale: 'en' });
    const long = '长'.repeat(10_000);
    const r = await submitForm(ctx, 'deal_new', '{}', { name: long, stage: 'lead', owner: 'owner' });
    expect(r).toEqual({
      kind: 'errors',
      errors: { name: 'Deal name is too long (10000 characters; at most 200).' },
    });
    expect(shown(await runCommand(ctx, `/deal note ${code} ${long}`))).toBe(
      'Note is too long (10000 characters; at most 4000).',
    );
    expect(await dealCount()).toBe(before);
  });

  it('operator injection in the owner and assignee is an unknown user, not a query', async () => {
    const ctx = await as(core, 'owner', { locale: 'en' });
    const r = await submitForm(ctx, 'deal_new', '{}', { name: 'x', stage: 'lead', owner: '{"$ne": null}' });
    expect(r.kind).toBe('errors');
    if (r.kind === 'errors') expect(r.errors.owner).toContain('is not a member of this workspace');
    expect(shown(await runCommand(ctx, `/deal assign ${code} {"$ne":null}`))).toContain(
      'is not a member of this workspace',
    );
  });

  it('a malformed form state is refused without touching any deal', async () => {
    const ctx = await as(core, 'owner');
    const r = await submitForm(ctx, 'deal_advance', '{"d": {"$ne": null}}', { 'nextStep.text': 'x' });
    expect(r.kind).toBe('errors');
  });
});

async function dealId(): Promise<string> {
  const ctx = await as(core, 'owner');
  const r = await listDeals(ctx, { kind: 'search', text: 'Target' }, 0, 1);
  if (!r.ok || !r.value.deals[0]) throw new Error('no target deal');
  return r.value.deals[0].id;
}
