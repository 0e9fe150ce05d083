import ExcelJS from 'exceljs';
import { parse } from 'csv-parse/sync';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Core } from '../../src/app.js';
import type { Result } from '../../src/domain/errors.js';
import { exportFiles } from '../../src/interactions/transfer.js';
import { advanceDeal, createDeal, loseDeal } from '../../src/usecases/deals.js';
import { updateSettings } from '../../src/usecases/settings.js';
import { exportPipeline, runImport } from '../../src/usecases/transfer.js';
import { as, testClock, testCore, type TestClock } from '../helpers/core.js';

let core: Core & { clock: TestClock };
const WS = { externalWorkspaceId: 'T-export' };

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.error)}`);
  return r.value;
}

beforeAll(async () => {
  core = await testCore(testClock('2026-11-02T09:00:00Z'), 'export');
  const mia = await as(core, 'mia', { ...WS, displayName: 'Mia' });
  await as(core, 'bob', { ...WS, displayName: 'Bob' });
  const ctx = {
    ...mia,
    workspace: value(
      await updateSettings(mia, {
        customFields: [{ key: 'region', labels: { en: 'Region', 'zh-CN': '区域' }, type: 'text' }],
      }),
    ),
  };
  value(
    await createDeal(ctx, {
      name: 'Acme',
      company: 'Acme Corp',
      amount: '50k',
      ownerId: 'bob',
      source: 'referral',
      custom: { region: 'EMEA' },
      closeDate: '2026-12-31',
    }),
  );
  core.clock.advanceDays(2);
  const c2 = { ...ctx, now: core.clock.now };
  value(
    await advanceDeal(c2, 'D-1', { stage: 'qualification', nextStep: { text: 'Demo', due: '2026-11-10' } }),
  );
  value(await createDeal(c2, { name: '=HYPERLINK("x")', company: 'Evil, "Inc"' }));
  value(await loseDeal(c2, 'D-2', { reason: 'price' }));
  core.clock.advanceDays(3);
});
afterAll(() => core.stop());

describe('export', () => {
  it('xlsx: a Deals sheet (one row per deal, all fields, custom fields, stage dates, days in stage) and a Stage changes sheet', async () => {
    const ctx = await as(core, 'mia', { ...WS, displayName: 'Mia' });
    const r = value(await exportPipeline(ctx, { format: 'xlsx' }));
    expect(r).toMatchObject({ deals: 2, changes: 4 });
    expect(r.files.map((f) => [f.filename, f.mime])).toEqual([
      [
        'dealpulse-pipeline-2026-11-07.xlsx',
        'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      ],
    ]);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(r.files[0]!.buffer as unknown as ArrayBuffer);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Deals', 'Stage changes']);
    const deals = wb.worksheets[0]!;
    const row = (n: number) => (deals.getRow(n).values as unknown[]).slice(1);
    expect(row(1)).toEqual([
      'Deal code',
      'External ID',
      'Deal',
      'Company',
      'Amount',
      'Currency',
      'Stage',
      'Status',
      'Owner',
      'Source',
      'Expected close date',
      'Next step',
      'Next step due',
      'Created',
      'Stage since',
      'Days in stage',
      'Closed date',
      'Lost reason',
      'Budget',
      'Authority',
      'Need',
      'Timeline',
      'Last updated',
      'Region',
    ]);
    const d1 = row(2);
    expect(d1.slice(0, 10)).toEqual([
      'D-1',
      undefined,
      'Acme',
      'Acme Corp',
      50000,
      'USD',
      'Qualification',
      'Open',
      'Bob',
      'Referral',
    ]);
    expect(d1[10]).toEqual(new Date('2026-12-31T00:00:00Z'));
    expect(d1.slice(11, 13)).toEqual(['Demo', new Date('2026-11-10T00:00:00Z')]);
    expect(d1.slice(13, 16)).toEqual([new Date('2026-11-02T00:00:00Z'), new Date('2026-11-04T00:00:00Z'), 3]);
    expect(d1[23]).toBe('EMEA');
    expect(deals.getRow(2).getCell(5).numFmt).toBe('#,##0.00');
    const d2 = row(3);
    expect(d2.slice(2, 8)).toEqual(['=HYPERLINK("x")', 'Evil, "Inc"', undefined, 'USD', 'Lost', 'Lost']);
    expect(d2[15]).toBeUndefined();
    expect(d2[16]).toEqual(new Date('2026-11-04T00:00:00Z'));
    expect(d2[17]).toBe('Price too high');
    const changes = wb.worksheets[1]!;
    const crow = (n: number) => (changes.getRow(n).values as unknown[]).slice(1);
    expect(crow(1)).toEqual([
      'Deal code',
      'Deal',
      'From stage',
      'To stage',
      'Changed at',
      'Changed by',
      'Reason',
    ]);
    expect(crow(2)).toEqual(['D-1', 'Acme', undefined, 'Lead', new Date('2026-11-02T09:00:00Z'), 'Mia']);
    expect(crow(3)).toEqual([
      'D-1',
      'Acme',
      'Lead',
      'Qualification',
      new Date('2026-11-04T09:00:00Z'),
      'Mia',
    ]);
    expect(crow(5)).toEqual([
      'D-2',
      '=HYPERLINK("x")',
      'Lead',
      'Lost',
      new Date('2026-11-04T09:00:00Z'),
      'Mia',
      'Price too high',
    ]);
  });

  it('csv: two UTF-8 (BOM) files with Chinese headers; formulas neutralised, quotes escaped; read back cell by cell', async () => {
    const ctx = await as(core, 'mia', { ...WS, displayName: 'Mia', locale: 'zh-CN' });
    const out = await exportFiles(ctx, ['csv', 'lost']);
    if (out.kind !== 'files') throw new Error(out.message.summary);
    expect(out.message.summary).toBe('销售漏斗导出：1 个商机，2 条阶段变更。');
    expect(out.files.map((f) => f.filename)).toEqual([
      'dealpulse-deals-2026-11-07.csv',
      'dealpulse-stage-changes-2026-11-07.csv',
    ]);
    const [deals, changes] = out.files.map((f) => {
      expect([...f.buffer.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
      return parse(f.buffer, { bom: true }) as string[][];
    });
    expect(deals![0]!.slice(0, 9)).toEqual([
      '商机编号',
      '外部编号',
      '商机名称',
      '客户名称',
      '金额',
      '币种',
      '阶段',
      '状态',
      '负责人',
    ]);
    expect(deals![0]![23]).toBe('区域');
    expect(deals).toHaveLength(2);
    expect(deals![1]!.slice(0, 10)).toEqual([
      'D-2',
      '',
      `'=HYPERLINK("x")`,
      'Evil, "Inc"',
      '',
      'USD',
      '流失',
      '流失',
      'Mia',
      '其他',
    ]);
    expect(deals![1]!.slice(13, 18)).toEqual(['2026-11-04', '2026-11-04', '', '2026-11-04', '价格过高']);
    expect(changes).toEqual([
      ['商机编号', '商机名称', '原阶段', '新阶段', '变更时间', '操作人', '原因'],
      ['D-2', `'=HYPERLINK("x")`, '', '潜在客户', '2026-11-04 09:00', 'Mia', ''],
      ['D-2', `'=HYPERLINK("x")`, '潜在客户', '流失', '2026-11-04 09:00', 'Mia', '价格过高'],
    ]);
  });

  it('an exported file imports back without duplicating anything', async () => {
    const ctx = await as(core, 'mia', { ...WS, displayName: 'Mia' });
    const file = value(await exportPipeline(ctx, { format: 'xlsx' })).files[0]!;
    const r = value(
      await runImport(
        ctx,
        { buffer: file.buffer, filename: file.filename },
        { mode: 'valid_only', unknownColumns: 'ignore' },
      ),
    );
    expect(r).toMatchObject({ created: 0, updated: 0, unchanged: 2, skipped: [] });
  });

  it('is for managers; bad periods are reported', async () => {
    const bob = await as(core, 'bob', WS);
    expect(await exportPipeline(bob, { format: 'csv' })).toEqual({
      ok: false,
      error: { kind: 'Forbidden', action: 'export' },
    });
    const mia = await as(core, 'mia', WS);
    const r = await exportFiles(mia, ['xlsx', 'sometime']);
    expect(r.kind).toBe('message');
  });
});
