import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/app.js';
import { parseCommand, tokenize } from '../../src/interactions/commands.js';
import { runAction, runCommand, submitForm, type Outcome } from '../../src/interactions/index.js';
import { plain, type RichMessage } from '../../src/presenters/rich.js';
import { as, testCore, type TestClock } from '../helpers/core.js';

/** Everything a user would read in a message, as plain text. */
function text(m: RichMessage): string {
  return m.blocks
    .map((b) => {
      switch (b.type) {
        case 'header':
          return b.text;
        case 'text':
        case 'context':
          return plain(b.text);
        case 'fields':
          return b.fields.map((f) => `${f.label}: ${plain(f.value)}`).join('\n');
        case 'list':
          return b.items.map((i) => plain(i)).join('\n');
        case 'actions':
          return b.actions.map((a) => `[${a.label}]`).join(' ');
        default:
          return '';
      }
    })
    .join('\n');
}

function message(o: Outcome) {
  if (o.kind !== 'message')
    throw new Error(`expected a message, got a form ${o.kind === 'form' ? o.form.id : ''}`);
  return o;
}
function form(o: Outcome) {
  if (o.kind !== 'form') throw new Error(`expected a form, got: ${text(o.message)}`);
  return o.form;
}

describe('command grammar', () => {
  it('reads English and Chinese commands, with or without the slash', () => {
    expect(parseCommand('/deal new Acme 50k')).toMatchObject({
      root: 'deal',
      sub: 'new',
      args: ['Acme', '50k'],
    });
    expect(parseCommand('deal advance D-12 proposal')).toMatchObject({
      sub: 'advance',
      args: ['D-12', 'proposal'],
    });
    expect(parseCommand('新建 Acme 5万')).toMatchObject({ root: 'deal', sub: 'new', args: ['Acme', '5万'] });
    expect(parseCommand('推进 D-3')).toMatchObject({ sub: 'advance', args: ['D-3'] });
    expect(parseCommand('输单 D-3 价格太高')).toMatchObject({ sub: 'lost', args: ['D-3', '价格太高'] });
    expect(parseCommand('周报')).toMatchObject({ root: 'pipeline', sub: 'review' });
    expect(parseCommand('/pipeline last 90d')).toMatchObject({
      root: 'pipeline',
      sub: 'summary',
      args: ['last', '90d'],
    });
    expect(parseCommand('漏斗 预测')).toMatchObject({ root: 'pipeline', sub: 'forecast' });
    expect(parseCommand('/deal frobnicate')).toMatchObject({
      root: 'deal',
      sub: 'unknown',
      word: 'frobnicate',
    });
    expect(parseCommand('/deal')).toMatchObject({ root: 'deal', sub: 'help' });
  });

  it('keeps quoted words and mention tokens whole', () => {
    expect(tokenize('new "Acme renewal" 50k <@U1|bob>')).toEqual(['new', 'Acme renewal', '50k', '<@U1|bob>']);
    expect(tokenize('新建 “上海 项目” 5万')).toEqual(['新建', '上海 项目', '5万']);
  });
});

describe('commands end to end (use cases on the real driver)', () => {
  let core: Core & { clock: TestClock };
  beforeAll(async () => {
    core = await testCore(undefined, 'cmd');
    await as(core, 'boss');
  });
  afterAll(() => core.stop());

  it('/deal new with name and amount creates at once and offers Edit', async () => {
    const ctx = await as(core, 'rep1');
    const o = message(await runCommand(ctx, '/deal new Acme renewal 50k Acme Corp'));
    expect(o.visibility).toBe('channel');
    expect(o.dealId).toBeDefined();
    const shown = text(o.message);
    expect(shown).toContain('D-1 created: Acme renewal');
    expect(shown).toContain('Company: Acme Corp');
    expect(shown).toContain('$50,000');
    expect(shown).toContain('[Edit]');
    expect(shown).toContain('[Advance]');
  });

  it('/deal new with only a name opens the form prefilled', async () => {
    const ctx = await as(core, 'rep1');
    const f = form(await runCommand(ctx, '/deal new Globex'));
    expect(f.id).toBe('deal_new');
    expect(f.fields.find((x) => x.name === 'name')?.initial).toBe('Globex');
    expect(f.fields.find((x) => x.name === 'owner')?.initial).toBe('rep1');
  });

  it('the new-deal form reports every invalid field in the user’s language and saves nothing', async () => {
    const ctx = await as(core, 'rep2', { locale: 'zh-CN' });
    const f = form(await runCommand(ctx, '新建'));
    const r = await submitForm(ctx, f.id, f.state, { name: '', amount: 'abc', stage: 'lead', owner: 'rep2' });
    expect(r.kind).toBe('errors');
    if (r.kind !== 'errors') return;
    expect(r.errors.name).toBe('商机名称不能为空。');
    expect(r.errors.amount).toContain('金额“abc”不是有效金额。');
    const list = message(await runCommand(ctx, '列表'));
    expect(text(list.message)).toContain('没有商机');
  });

  it('advance: form with the next stage, inline errors, then the move', async () => {
    const ctx = await as(core, 'rep1');
    const created = message(await runCommand(ctx, '/deal new Hooli 80k'));
    const code = /D-\d+/.exec(text(created.message))![0];
    const f = form(await runCommand(ctx, `/deal advance ${code}`));
    expect(f.id).toBe('deal_advance');
    expect(f.fields.find((x) => x.name === 'stage')?.initial).toBe('qualification');
    expect(f.fields.map((x) => x.name)).toEqual(
      expect.arrayContaining(['company', 'nextStep.text', 'nextStep.due', 'checklist']),
    );
    const bad = await submitForm(ctx, f.id, f.state, {
      stage: 'qualification',
      company: '',
      'nextStep.text': '',
      'nextStep.due': '',
    });
    expect(bad).toEqual({
      kind: 'errors',
      errors: { 'nextStep.text': 'Every update needs a next step: what happens next, and by when.' },
    });
    const missingCompany = await submitForm(ctx, f.id, f.state, {
      stage: 'qualification',
      company: '',
      'nextStep.text': 'Call',
    });
    expect(missingCompany).toEqual({
      kind: 'errors',
      errors: { company: 'To enter Qualification, fill in: Company.' },
    });
    const okay = await submitForm(ctx, f.id, f.state, {
      stage: 'qualification',
      company: 'Hooli',
      'nextStep.text': 'Discovery call',
      'nextStep.due': 'tomorrow',
    });
    expect(okay.kind).toBe('done');
    if (okay.kind === 'done') {
      expect(okay.visibility).toBe('channel');
      expect(text(okay.message)).toContain(`${code} moved from Lead to Qualification.`);
      expect(text(okay.message)).toContain('Next step: Discovery call');
    }
    // the form was opened at the old version: submitting it again is a conflict, not a second move
    const replay = await submitForm(ctx, f.id, f.state, {
      stage: 'qualification',
      company: 'Hooli',
      'nextStep.text': 'x',
    });
    expect(replay.kind).toBe('errors');
  });

  it('lost without a reason opens the reason form; with one it closes the deal', async () => {
    const ctx = await as(core, 'rep1');
    const created = message(await runCommand(ctx, '/deal new Initech 20k'));
    const code = /D-\d+/.exec(text(created.message))![0];
    const f = form(await runCommand(ctx, `/deal lost ${code}`));
    expect(f.fields[0]).toMatchObject({ name: 'reason', kind: 'select', required: true });
    const r = await submitForm(ctx, f.id, f.state, { reason: 'competitor', detail: 'Went with Salesforce' });
    expect(r.kind).toBe('done');
    if (r.kind === 'done')
      expect(text(r.message)).toContain('closed as lost: Chose a competitor — Went with Salesforce');
  });

  it('the same new-deal or note form submitted twice (a double click, whatever the platform ids) creates one deal and one note', async () => {
    const ctx = await as(core, 'rep1');
    const f = form(await runCommand(ctx, '/deal new'));
    const values = { name: 'Twice Co', stage: 'lead', owner: 'rep1' };
    const [a, b] = await Promise.all([
      submitForm(ctx, f.id, f.state, values, { requestKey: 'click-1' }),
      submitForm(ctx, f.id, f.state, values, { requestKey: 'click-2' }),
    ]);
    expect(a.kind === 'done' && b.kind === 'done' && a.dealId === b.dealId).toBe(true);
    const dealId = a.kind === 'done' ? a.dealId! : '';
    const nf = form(await runAction(ctx, 'note', dealId));
    await submitForm(ctx, nf.id, nf.state, { text: 'Once' }, { requestKey: 'e1' });
    await submitForm(ctx, nf.id, nf.state, { text: 'Once' }, { requestKey: 'e2' });
    expect(await core.deps.store.listNotes(ctx.workspace.id, dealId, 10)).toHaveLength(1);
    // a new form is a new request
    const again = form(await runCommand(ctx, '/deal new'));
    const c = await submitForm(ctx, again.id, again.state, values);
    expect(c.kind === 'done' && c.dealId).not.toBe(dealId);
  });

  it('buttons open the same forms as the commands', async () => {
    const ctx = await as(core, 'rep1');
    const created = message(await runCommand(ctx, '/deal new Buttons 10k'));
    const id = created.dealId!;
    expect(form(await runAction(ctx, 'advance', id)).id).toBe('deal_advance');
    expect(form(await runAction(ctx, 'next_step', id)).id).toBe('next_step');
    expect(form(await runAction(ctx, 'note', id)).id).toBe('note');
    expect(form(await runAction(ctx, 'snooze', id)).id).toBe('snooze');
    expect(form(await runAction(ctx, 'lost', id)).id).toBe('deal_lost');
    const snoozed = message(await runAction(ctx, 'snooze_1w', id));
    expect(text(snoozed.message)).toMatch(/snoozed until/);
  });

  it('unknown subcommands show help; unknown codes say not found with close matches; reps cannot open settings', async () => {
    const ctx = await as(core, 'rep1');
    expect(text(message(await runCommand(ctx, '/deal frobnicate')).message)).toContain(
      'I don’t know “frobnicate”',
    );
    expect(text(message(await runCommand(ctx, '/deal show D-999')).message)).toMatch(
      /Deal D-999 was not found in this workspace\. Did you mean: D-\d+/,
    );
    expect(text(message(await runCommand(ctx, '/pipeline settings')).message)).toBe(
      'Only managers can change the workspace settings.',
    );
    const boss = await as(core, 'boss');
    const f = form(await runCommand(boss, '/pipeline settings'));
    expect(f.id).toBe('settings');
    const bad = await submitForm(boss, 'settings', f.state, { stages: 'lead | Lead | 潜在客户 | abc | 7 |' });
    expect(bad.kind).toBe('errors');
    if (bad.kind === 'errors') expect(bad.errors.stages).toMatch(/^Line 1: /);
    const good = await submitForm(boss, 'settings', f.state, { alertCap: '5', reviewSchedule: '0 10 * * 1' });
    expect(good.kind).toBe('done');
    const again = await as(core, 'boss');
    expect(again.workspace.settings.alertCap).toBe(5);
    expect(again.workspace.settings.reviewSchedule).toBe('0 10 * * 1');
  });

  it('lists paginate with page buttons', async () => {
    const ctx = await as(core, 'pager');
    for (let i = 0; i < 12; i++) await runCommand(ctx, `/deal new Deal${i} ${i + 1}k`);
    const first = message(await runCommand(ctx, '/deal list mine'));
    const nav = first.message.blocks.find((b) => b.type === 'actions');
    expect(nav && nav.type === 'actions' && nav.actions.map((a) => a.label)).toEqual(['Next ▶']);
    const next = nav && nav.type === 'actions' ? nav.actions[0]! : undefined;
    const second = message(await runAction(ctx, 'page', next!.value));
    expect(text(second.message)).toContain('Page 2 of 2');
  });
});

describe('/pipeline reports through the interaction core', () => {
  let core: Core & { clock: TestClock };
  beforeAll(async () => {
    core = await testCore(undefined, 'pipe');
    const boss = await as(core, 'boss');
    await runCommand(boss, '/deal new Alpha 50k Alpha Co');
    await runCommand(boss, '/deal new Beta 5万 Beta Co');
  });
  afterAll(() => core.stop());

  it('/pipeline posts the funnel image with a KPI summary in the channel', async () => {
    const ctx = await as(core, 'boss');
    const o = message(await runCommand(ctx, '/pipeline last 90d'));
    expect(o.visibility).toBe('channel');
    const image = o.message.blocks.find((b) => b.type === 'image');
    expect(image && image.type === 'image' && image.image.png.subarray(1, 4).toString()).toBe('PNG');
    expect(image && image.type === 'image' && image.image.altText).toMatch(/Lead/);
  });

  it('zh-CN users get Chinese reports; a bad period names what is accepted', async () => {
    const ctx = await as(core, 'boss', { locale: 'zh-CN' });
    const o = message(await runCommand(ctx, '漏斗'));
    const image = o.message.blocks.find((b) => b.type === 'image');
    expect(image && image.type === 'image' && image.image.altText).toContain('潜在客户');
    const bad = message(await runCommand(ctx, '/pipeline last blue moon'));
    expect(bad.visibility).toBe('ephemeral');
    expect(text(bad.message)).toMatch(/时间段|时长/);
  });

  it('/pipeline stalled, forecast and review answer in the channel', async () => {
    const ctx = await as(core, 'boss', { locale: 'en' });
    for (const line of ['/pipeline stalled', '/pipeline forecast', '/pipeline review']) {
      const o = message(await runCommand(ctx, line));
      expect(o.visibility, line).toBe('channel');
      expect(o.message.blocks.length, line).toBeGreaterThan(1);
    }
  });
});

describe('settings form safety', () => {
  let core: Core & { clock: TestClock };
  beforeAll(async () => {
    core = await testCore(undefined, 'settings-safety');
    await as(core, 'admin');
    await as(core, 'mgr');
  });
  afterAll(() => core.stop());

  it('webhook delivery failures of rules are visible in the settings form', async () => {
    const admin = await as(core, 'admin');
    const rule = {
      id: 'hook',
      name: 'CRM sync',
      enabled: true,
      trigger: { type: 'won' as const },
      conditions: {},
      action: { type: 'webhook' as const, url: 'https://crm.example/hook', secret: 'x'.repeat(20) },
      lastError: { at: new Date('2026-11-01T08:00:00Z'), message: 'HTTP 502 after 5 attempts' },
    };
    await core.deps.store.saveSettings(
      admin.workspace.id,
      { ...admin.workspace.settings, rules: [rule] },
      admin.workspace.settingsVersion,
    );
    const f = form(await runCommand(await as(core, 'admin'), '/pipeline settings'));
    expect(f.intro?.map((line) => plain(line))).toEqual([
      '⚠ Rule “CRM sync”: the last webhook delivery failed on Nov 1, 2026: HTTP 502 after 5 attempts',
    ]);
  });

  it('a stale settings form does not overwrite a newer save; demoting the last admin saves nothing', async () => {
    const admin = await as(core, 'admin');
    const stale = form(await runCommand(admin, '/pipeline settings'));
    const fresh = form(await runCommand(admin, '/pipeline settings'));
    expect((await submitForm(admin, 'settings', fresh.state, { alertCap: '7' })).kind).toBe('done');
    const late = await submitForm(await as(core, 'admin'), 'settings', stale.state, { alertCap: '3' });
    expect(late).toMatchObject({ kind: 'errors' });
    expect((await as(core, 'admin')).workspace.settings.alertCap).toBe(7);

    const now = form(await runCommand(await as(core, 'admin'), '/pipeline settings'));
    const demote = await submitForm(await as(core, 'admin'), 'settings', now.state, {
      alertCap: '9',
      roles: 'mgr | manager\nadmin | rep',
    });
    expect(demote).toEqual({ kind: 'errors', errors: { roles: 'The workspace needs at least one admin.' } });
    const after = await as(core, 'admin');
    expect(after.workspace.settings.alertCap).toBe(7);
    expect(after.actor.role).toBe('admin');
    expect((await as(core, 'mgr')).actor.role).toBe('rep');
  });
});
