import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/app.js';
import type { Result } from '../../src/domain/errors.js';
import { runCommand, submitForm } from '../../src/interactions/index.js';
import { importOutcome } from '../../src/interactions/transfer.js';
import { plain } from '../../src/presenters/rich.js';
import { createDeal, getDeal, listDeals } from '../../src/usecases/deals.js';
import { previewImport, runImport } from '../../src/usecases/transfer.js';
import { as, testCore, type TestClock } from '../helpers/core.js';
import { badRowsCsv, chineseGbkCsv, englishXlsx } from './fixtures.js';

let core: Core & { clock: TestClock };

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.error)}`);
  return r.value;
}

const WS = { externalWorkspaceId: 'T-import' };
const manager = () => as(core, 'mia', WS);

beforeAll(async () => {
  core = await testCore(undefined, 'import');
  await as(core, 'mia', { ...WS, displayName: 'Mia' }); // first user: admin
  await as(core, 'bob', { ...WS, displayName: 'Bob', email: 'bob@example.com' });
  await as(core, 'carol', { ...WS, displayName: 'Carol', email: 'Carol@Example.com' });
  await as(core, 'rep', { ...WS, displayName: 'Rep' });
});
afterAll(() => core.stop());

describe('preview', () => {
  it('shows the mapping, the first rows as they will be imported and the unknown columns; writes nothing', async () => {
    const ctx = await manager();
    const p = value(await previewImport(ctx, { buffer: await englishXlsx(), filename: 'pipeline.xlsx' }));
    expect(p.columns.map((c) => `${c.header}→${c.fieldLabel}`)).toEqual([
      'Deal→Deal',
      'Company→Company',
      'Amount→Amount',
      'Stage→Stage',
      'Owner→Owner',
      'Source→Source',
      'Close date→Expected close date',
      'Created→Created',
      'Stage since→Stage since',
      'Region→',
    ]);
    expect(p.unknownColumns).toEqual(['Region']);
    expect(p).toMatchObject({ total: 3, valid: 3, creates: 3, updates: 0, invalid: [], warnings: [] });
    const cells = p.sample.map((r) => Object.fromEntries(r.cells.map((c) => [c.field, c.value])));
    expect(cells[0]).toMatchObject({
      name: 'Acme renewal',
      amount: '$50,000',
      stage: 'Lead',
      owner: 'Bob',
      closeDate: expect.stringContaining('2026'),
    });
    expect(cells[1]).toMatchObject({
      name: 'Globex expansion',
      amount: '$1,234.57',
      stage: 'Qualification',
      owner: 'Bob',
    });
    expect(cells[2]).toMatchObject({ name: 'Initech', stage: 'Won', owner: 'Carol' });
    expect(value(await listDeals(ctx, { kind: 'all' })).total).toBe(0);
  });

  it('lists invalid rows with their spreadsheet row number and a localized reason', async () => {
    const ctx = await manager();
    const p = value(await previewImport(ctx, { buffer: badRowsCsv(), filename: 'bad.csv' }));
    expect(p.valid).toBe(2);
    expect(p.invalid).toEqual([
      {
        row: 3,
        reason:
          'Amount “ten dollars” is not an amount. Try 50000, 50,000, 50k, 1.2M, 5万, 1.5亿, ¥50,000 or $50k.',
      },
      { row: 4, reason: expect.stringContaining('There is no stage “Flying”.') },
      { row: 5, reason: 'A lost deal needs a lost reason.' },
      { row: 6, reason: 'Deal name is required.' },
      { row: 7, reason: 'Created “2027-01-01” is in the future.' },
    ]);
    const zh = { ...ctx, locale: 'zh-CN' as const };
    const pz = value(await previewImport(zh, { buffer: badRowsCsv(), filename: 'bad.csv' }));
    expect(pz.invalid.find((i) => i.row === 5)?.reason).toBe('流失的商机必须填写流失原因。');
  });

  it('is for managers only', async () => {
    const rep = await as(core, 'rep', WS);
    const r = await previewImport(rep, { buffer: badRowsCsv(), filename: 'bad.csv' });
    expect(r).toEqual({ ok: false, error: { kind: 'Forbidden', action: 'import' } });
  });
});

describe('import modes', () => {
  it('all_or_nothing writes nothing when a row is invalid; valid_only imports the valid rows and reports the rest', async () => {
    const ctx = await as(core, 'mia', { externalWorkspaceId: 'T-modes' });
    const file = { buffer: badRowsCsv(), filename: 'bad.csv' };
    const none = value(await runImport(ctx, file, { mode: 'all_or_nothing', unknownColumns: 'ignore' }));
    expect(none).toMatchObject({ written: false, created: 0, updated: 0 });
    expect(none.skipped.map((s) => s.row)).toEqual([3, 4, 5, 6, 7]);
    expect(value(await listDeals(ctx, { kind: 'all' })).total).toBe(0);

    const some = value(await runImport(ctx, file, { mode: 'valid_only', unknownColumns: 'ignore' }));
    expect(some).toMatchObject({ written: true, created: 2, updated: 0, unchanged: 0 });
    expect(some.skipped.map((s) => s.row)).toEqual([3, 4, 5, 6, 7]);
    const deals = value(await listDeals(ctx, { kind: 'all' })).deals;
    expect(deals.map((d) => [d.name, d.amount, d.createdAt.toISOString().slice(0, 10)])).toEqual([
      ['Good one', 10_000, '2026-10-01'],
      ['Good two', 20_000, '2026-11-02'],
    ]);
  });

  it('all_or_nothing with unknown columns as custom fields adds no field when nothing is written', async () => {
    const ctx = await as(core, 'mia', { externalWorkspaceId: 'T-modes-custom' });
    const csv = Buffer.from('Deal,Amount,Region\nFine,10k,East\nBroken,lots,West\n');
    const file = { buffer: csv, filename: 'regions.csv' };
    const none = value(await runImport(ctx, file, { mode: 'all_or_nothing', unknownColumns: 'custom' }));
    expect(none).toMatchObject({ written: false, customFieldsAdded: [] });
    expect(
      (await as(core, 'mia', { externalWorkspaceId: 'T-modes-custom' })).workspace.settings.customFields,
    ).toEqual([]);
    const some = value(await runImport(ctx, file, { mode: 'valid_only', unknownColumns: 'custom' }));
    expect(some).toMatchObject({ written: true, created: 1, customFieldsAdded: ['Region'] });
    const after = await as(core, 'mia', { externalWorkspaceId: 'T-modes-custom' });
    expect(after.workspace.settings.customFields.map((f) => f.labels.en)).toEqual(['Region']);
    const deal = value(await listDeals(after, { kind: 'all' })).deals[0]!;
    expect(Object.values(deal.custom)).toEqual(['East']);
  });
});

describe('a Chinese GBK CSV', () => {
  let ws: { externalWorkspaceId: string };
  beforeAll(async () => {
    ws = { externalWorkspaceId: 'T-zh' };
    await as(core, 'wang', { ...ws, displayName: '王经理', locale: 'zh-CN' });
    await as(core, 'li', { ...ws, displayName: '李四' });
  });

  it('imports with history: stage dates, closed deals at their close date, owners by name, a warning for unknown owners', async () => {
    const ctx = await as(core, 'wang', { ...ws, displayName: '王经理', locale: 'zh-CN' });
    const report = value(
      await runImport(
        ctx,
        { buffer: chineseGbkCsv(), filename: '商机.csv' },
        { mode: 'valid_only', unknownColumns: 'ignore' },
      ),
    );
    expect(report).toMatchObject({ created: 3, updated: 0, skipped: [] });
    expect(report.warnings).toEqual([
      { row: 4, reason: '负责人“未知的人”不是本工作区成员：该商机分配给你。' },
    ]);

    const east = value(await getDeal(ctx, '华东区 CRM 升级'));
    expect(east).toMatchObject({
      amount: 50_000,
      currency: 'CNY',
      stage: 'lead',
      ownerId: 'wang',
      source: 'event',
      status: 'open',
    });
    expect(east.nextStep?.text).toBe('约技术交流');
    expect(east.createdAt.toISOString()).toBe('2026-09-01T00:00:00.000Z');

    const lost = value(await getDeal(ctx, '北京数据平台'));
    expect(lost).toMatchObject({
      status: 'lost',
      stage: 'lost',
      amount: 120_000,
      ownerId: 'li',
      lostReason: { key: 'price' },
    });
    expect(lost.closedAt?.toISOString()).toBe('2026-10-15T00:00:00.000Z');
    const lostHistory = await core.deps.store.stageChanges(lost.workspaceId, lost.id);
    expect(lostHistory.map((c) => [c.from, c.to, c.at.toISOString().slice(0, 10)])).toEqual([
      [null, 'lead', '2026-06-01'],
      ['lead', 'lost', '2026-10-15'],
    ]);

    const gz = value(await getDeal(ctx, '广州渠道合作'));
    expect(gz).toMatchObject({ stage: 'qualification', ownerId: 'wang', amount: 8_000 });
    expect(gz.stageEnteredAt.toISOString()).toBe('2026-10-20T00:00:00.000Z');
    const gzHistory = await core.deps.store.stageChanges(gz.workspaceId, gz.id);
    expect(gzHistory.map((c) => [c.from, c.to, c.at.toISOString().slice(0, 10)])).toEqual([
      [null, 'qualification', '2026-10-20'],
    ]);
  });

  it('re-importing the same file creates nothing and changes nothing', async () => {
    const ctx = await as(core, 'wang', { ...ws, displayName: '王经理', locale: 'zh-CN' });
    const before = value(await listDeals(ctx, { kind: 'all' }));
    const again = value(
      await runImport(
        ctx,
        { buffer: chineseGbkCsv(), filename: '商机.csv' },
        { mode: 'all_or_nothing', unknownColumns: 'ignore' },
      ),
    );
    expect(again).toMatchObject({ created: 0, updated: 0, unchanged: 3, skipped: [] });
    const after = value(await listDeals(ctx, { kind: 'all' }));
    expect(after.total).toBe(before.total);
    expect(after.deals.map((d) => d.version)).toEqual(before.deals.map((d) => d.version));
  });
});

describe('updates', () => {
  it('matches deals created in chat by name + company, updates changed fields and moves the stage', async () => {
    const ws = { externalWorkspaceId: 'T-upd' };
    const ctx = await as(core, 'mia', ws);
    await as(core, 'bob', { ...ws, email: 'bob@example.com' });
    value(await createDeal(ctx, { name: 'Acme renewal', company: 'Acme Corp', amount: '10k' }));
    const file = Buffer.from(
      [
        'Deal,Company,Amount,Stage,Owner,Next step',
        'acme renewal,ACME CORP,15k,qualification,bob@example.com,Call the CFO',
        'Dup,X,1,lead,,',
        'dup,x,2,lead,,',
      ].join('\n'),
    );
    const r = value(
      await runImport(
        ctx,
        { buffer: file, filename: 'u.csv' },
        { mode: 'valid_only', unknownColumns: 'ignore' },
      ),
    );
    expect(r).toMatchObject({ created: 1, updated: 1 });
    expect(r.skipped).toEqual([{ row: 4, reason: 'Same deal as row 3.' }]);
    const deal = value(await getDeal(ctx, 'D-1'));
    expect(deal).toMatchObject({
      name: 'acme renewal',
      amount: 15_000,
      stage: 'qualification',
      ownerId: 'bob',
    });
    expect(deal.nextStep?.text).toBe('Call the CFO');
    expect(value(await listDeals(ctx, { kind: 'all' })).total).toBe(2);
  });
});

describe('chat flow', () => {
  it('importOutcome stores the upload and returns the preview and the import form; submitting it imports and reports', async () => {
    const ws = { externalWorkspaceId: 'T-chat' };
    const ctx = await as(core, 'mia', ws);
    await as(core, 'bob', { ...ws, email: 'bob@example.com' });
    await as(core, 'carol', { ...ws, email: 'carol@example.com' });
    const start = await importOutcome(ctx, { buffer: await englishXlsx(), filename: 'pipeline.xlsx' });
    if (start.kind !== 'preview')
      throw new Error(plain(start.message.blocks.flatMap((b) => (b.type === 'text' ? b.text : []))));
    const text = start.message.blocks.flatMap((b) =>
      b.type === 'list' ? b.items.map((i) => plain(i)) : b.type === 'text' ? [plain(b.text)] : [],
    );
    expect(text).toContain('Close date → Expected close date');
    expect(text).toContain('Region → (unknown column)');
    expect(text).toContain('3 rows: 3 new, 0 to update, 0 unchanged, 0 with problems.');
    expect(start.form.id).toBe('import');
    expect(start.form.fields.map((f) => [f.name, f.initial, f.options?.map((o) => o.value)])).toEqual([
      ['mode', 'valid_only', ['valid_only', 'all_or_nothing']],
      ['unknownColumns', 'ignore', ['ignore', 'custom']],
    ]);
    const done = await submitForm(
      ctx,
      'import',
      start.form.state,
      { mode: 'valid_only', unknownColumns: 'custom' },
      { requestKey: 'view-1' },
    );
    expect(done.kind).toBe('done');
    if (done.kind !== 'done') return;
    expect(done.message.summary).toBe(
      'Import finished: pipeline.xlsx — 3 created, 0 updated, 0 unchanged, 0 skipped.',
    );
    const acme = value(await getDeal(await as(core, 'mia', ws), 'Acme renewal'));
    expect(acme.custom).toEqual({ region: 'EMEA' });
    const initech = value(await getDeal(ctx, 'Initech'));
    expect(initech).toMatchObject({ status: 'won', amount: 12_000, ownerId: 'carol' });
    expect(initech.closedAt?.toISOString()).toBe('2026-10-20T00:00:00.000Z');
    // The upload is gone after a written import.
    const again = await submitForm(ctx, 'import', start.form.state, { mode: 'valid_only' });
    expect(again).toEqual({
      kind: 'errors',
      errors: { _form: 'This import has expired (files are kept for one hour). Send the file again.' },
    });
  });

  it('a rep gets the localized refusal, and /deal import without a file explains how', async () => {
    const rep = await as(core, 'rep', { ...WS, locale: 'zh-CN' });
    const start = await importOutcome(rep, { buffer: badRowsCsv(), filename: 'bad.csv' });
    expect(start).toMatchObject({ kind: 'message', message: { summary: '只有经理可以导入商机。' } });
    const help = await runCommand(rep, '/deal import');
    expect(help).toMatchObject({ kind: 'message', visibility: 'ephemeral' });
    expect(help.kind === 'message' && help.message.summary).toMatch(
      /^经理可以从 \.xlsx 或 \.csv 文件导入商机.*在飞书中直接把文件发到与机器人的私聊/,
    );
  });
});
