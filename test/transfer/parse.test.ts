import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import type { Result } from '../../src/domain/errors.js';
import { detectMapping, unknownColumns } from '../../src/transfer/mapping.js';
import { MAX_ROWS, readSpreadsheet, type Sheet } from '../../src/transfer/parse.js';
import { normalizeDateColumn } from '../../src/usecases/transfer.js';
import { badRowsCsv, bigCsv, chineseGbkCsv, englishXlsx, semicolonBomCsv } from './fixtures.js';

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.error)}`);
  return r.value;
}

describe('readSpreadsheet', () => {
  it('reads an English xlsx: dates as ISO days, numbers as text, rich text, formulas and links as their text', async () => {
    const sheet: Sheet = value(await readSpreadsheet(await englishXlsx(), 'pipeline.xlsx'));
    expect(sheet.format).toBe('xlsx');
    expect(sheet.headers).toEqual([
      'Deal',
      'Company',
      'Amount',
      'Stage',
      'Owner',
      'Source',
      'Close date',
      'Created',
      'Stage since',
      'Region',
    ]);
    expect(sheet.rows[0]).toEqual([
      'Acme renewal',
      'Acme Corp',
      '50000',
      'Lead',
      'bob@example.com',
      'Referral',
      '2026-12-15',
      '2026-09-01',
      '',
      'EMEA',
    ]);
    expect(sheet.rows[1]?.slice(0, 3)).toEqual(['Globex expansion', 'Globex', '1234.567']);
    expect(sheet.rows[2]?.slice(0, 5)).toEqual(['Initech', 'Initech', '12000', 'won', 'carol@example.com']);
    expect(sheet.rowNumbers).toEqual([2, 3, 4]);
  });

  it('decodes a GBK CSV with CRLF line ends as Chinese Excel saves it', async () => {
    const sheet = value(await readSpreadsheet(chineseGbkCsv(), '商机.csv'));
    expect(sheet).toMatchObject({ format: 'csv', encoding: 'gb18030', delimiter: ',' });
    expect(sheet.headers[0]).toBe('商机名称');
    expect(sheet.rows[0]?.slice(0, 4)).toEqual([
      '华东区 CRM 升级',
      '上海某某科技有限公司',
      '5万',
      '潜在客户',
    ]);
    expect(sheet.rows[1]?.[2]).toBe('120,000');
    expect(sheet.rows).toHaveLength(3);
  });

  it('detects semicolons and strips the UTF-8 BOM; quoted separators stay in the cell', async () => {
    const sheet = value(await readSpreadsheet(semicolonBomCsv(), 'export.csv'));
    expect(sheet).toMatchObject({ encoding: 'utf-8', delimiter: ';' });
    expect(sheet.headers).toEqual(['Name', 'Account', 'Value', 'Deal stage']);
    expect(sheet.rows[1]).toEqual(['Café', 'Café; Bar', '3000', 'lead']);
  });

  it('reads tab-separated UTF-16 (Excel "Unicode text")', async () => {
    const text = '商机名称\t金额\r\n测试\t5万\r\n';
    const buf = Buffer.concat([Buffer.from([0xff, 0xfe]), iconv.encode(text, 'utf-16le')]);
    const sheet = value(await readSpreadsheet(buf, 'deals.txt'));
    expect(sheet).toMatchObject({
      encoding: 'utf-16',
      delimiter: '\t',
      headers: ['商机名称', '金额'],
      rows: [['测试', '5万']],
    });
  });

  it('skips blank lines but keeps the spreadsheet row numbers', async () => {
    const sheet = value(await readSpreadsheet(Buffer.from('Deal,Amount\n\nA,1\n,\nB,2\n'), 'a.csv'));
    expect(sheet.rows).toEqual([
      ['A', '1'],
      ['B', '2'],
    ]);
    expect(sheet.rowNumbers).toEqual([3, 5]);
  });

  it('accepts 10,000 rows and rejects 10,001', async () => {
    const okSheet = value(await readSpreadsheet(bigCsv(MAX_ROWS), 'big.csv'));
    expect(okSheet.rows).toHaveLength(10_000);
    const r = await readSpreadsheet(bigCsv(MAX_ROWS + 1), 'big.csv');
    expect(r).toEqual({
      ok: false,
      error: {
        kind: 'Invalid',
        field: 'file',
        value: undefined,
        reason: 'file_too_many_rows',
        params: { max: 10_000 },
      },
    });
  });

  it('rejects files over 10 MB, old .xls, empty files and other types', async () => {
    const reason = async (buf: Buffer, name: string) => {
      const r = await readSpreadsheet(buf, name);
      return r.ok ? 'ok' : r.error.kind === 'Invalid' ? r.error.reason : r.error.kind;
    };
    expect(await reason(Buffer.alloc(10 * 1024 * 1024 + 1, 0x41), 'a.csv')).toBe('file_too_large');
    expect(await reason(Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 1, 2]), 'old.xls')).toBe('file_xls');
    expect(await reason(Buffer.alloc(0), 'a.csv')).toBe('file_empty');
    expect(await reason(Buffer.from('%PDF-1.4'), 'deck.pdf')).toBe('file_type');
    expect(await reason(Buffer.from('PK\u0003\u0004garbage'), 'broken.xlsx')).toBe('file_unreadable');
    expect(await reason(Buffer.from('Deal,Amount\n'), 'a.csv')).toBe('file_no_rows');
  });

  it('keeps bad rows as text for validation', async () => {
    const sheet = value(await readSpreadsheet(badRowsCsv(), 'bad.csv'));
    expect(sheet.rows).toHaveLength(7);
    expect(sheet.rows[1]?.[2]).toBe('ten dollars');
  });
});

describe('detectMapping', () => {
  it('maps English and Chinese headers case-, space- and unit-insensitively; leaves unknown columns', () => {
    const m = detectMapping([
      'Deal Name',
      'COMPANY',
      'Amount (USD)',
      '阶段',
      '负责人',
      '预计成交日期',
      '进入阶段日期',
      '流失原因',
      'Region',
      '',
    ]);
    expect(m.columns.map((c) => c.field)).toEqual([
      'name',
      'company',
      'amount',
      'stage',
      'owner',
      'closeDate',
      'stageEnteredAt',
      'lostReason',
      null,
      null,
    ]);
    expect(unknownColumns(m).map((c) => c.header)).toEqual(['Region']);
  });

  it('recognises its own export headers in both languages, ignores computed ones, and maps custom fields by label', () => {
    const m = detectMapping(
      ['商机编号', '外部编号', '商机名称', '在当前阶段天数', 'Days in stage', '行业'],
      [{ key: 'industry', labels: { en: 'Industry', 'zh-CN': '行业' }, type: 'text' }],
    );
    expect(m.columns.map((c) => [c.field, Boolean(c.computed)])).toEqual([
      ['code', false],
      ['externalId', false],
      ['name', false],
      [null, true],
      [null, true],
      ['custom.industry', false],
    ]);
    expect(unknownColumns(m)).toEqual([]);
  });

  it('gives a field to the first column that claims it only', () => {
    const m = detectMapping(['Deal', 'Name']);
    expect(m.columns.map((c) => c.field)).toEqual(['name', null]);
  });
});

describe('normalizeDateColumn', () => {
  it('rewrites d/m/y or m/d/y columns as ISO when one value shows the order, else leaves them', () => {
    expect(normalizeDateColumn(['15/12/2026', '1/2/2026', ''])).toEqual(['2026-12-15', '2026-02-01', '']);
    expect(normalizeDateColumn(['12/15/2026', '1/2/2026'])).toEqual(['2026-12-15', '2026-01-02']);
    expect(normalizeDateColumn(['1/2/2026', '3/4/2026'])).toEqual(['1/2/2026', '3/4/2026']);
  });
});
