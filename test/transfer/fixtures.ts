/** Spreadsheet fixtures built in the tests (never downloaded): as Excel writes them. */
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';

/** An English workbook with real date and number cells, rich text and a hyperlinked e-mail. */
export async function englishXlsx(rows?: unknown[][]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Pipeline');
  ws.addRow([
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
  for (const r of rows ?? [
    [
      'Acme renewal',
      'Acme Corp',
      50000,
      'Lead',
      'bob@example.com',
      'Referral',
      new Date(Date.UTC(2026, 11, 15)),
      new Date(Date.UTC(2026, 8, 1)),
      null,
      'EMEA',
    ],
    [
      { richText: [{ text: 'Globex ' }, { text: 'expansion', font: { bold: true } }] },
      'Globex',
      1234.567,
      'Qualification',
      'Bob',
      'Event',
      null,
      new Date(Date.UTC(2026, 8, 10)),
      new Date(Date.UTC(2026, 9, 1)),
      'APAC',
    ],
    [
      'Initech',
      'Initech',
      { formula: '1000*12', result: 12000 },
      'won',
      { text: 'carol@example.com', hyperlink: 'mailto:carol@example.com' },
      '',
      new Date(Date.UTC(2026, 9, 20)),
      new Date(Date.UTC(2026, 7, 1)),
      new Date(Date.UTC(2026, 9, 20)),
      '',
    ],
  ])
    ws.addRow(r);
  ws.getColumn(7).numFmt = 'yyyy-mm-dd';
  ws.getColumn(8).numFmt = 'yyyy-mm-dd';
  ws.getColumn(9).numFmt = 'yyyy-mm-dd';
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/** A CSV as Chinese Excel saves it: GBK (GB18030) bytes, comma separated, CRLF, slash dates. */
export function chineseGbkCsv(): Buffer {
  const text = [
    '商机名称,客户名称,金额,阶段,负责人,来源,预计成交日期,创建日期,进入阶段日期,流失原因,下一步',
    '华东区 CRM 升级,上海某某科技有限公司,5万,潜在客户,王经理,展会,2026/12/20,2026/9/1,,,约技术交流',
    '北京数据平台,北京某某集团,"120,000",流失,李四,官网,,2026/6/1,2026/10/15,价格过高,',
    '广州渠道合作,广州某某贸易,8千,资格评估,未知的人,渠道,2027/1/15,2026/10/1,2026/10/20,,',
  ].join('\r\n');
  return iconv.encode(`${text}\r\n`, 'gbk');
}

/** Semicolon separated UTF-8 with BOM (European Excel), with a decimal-comma-free amount and Tab-free text. */
export function semicolonBomCsv(): Buffer {
  const text = [
    'Name;Account;Value;Deal stage',
    'Müller GmbH deal;Müller GmbH;€12.500,00;lead',
    'Café;"Café; Bar";3000;lead',
  ].join('\r\n');
  return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
}

/** A file with bad rows: bad amount, unknown stage, lost without reason, missing name, future created date. */
export function badRowsCsv(): Buffer {
  return Buffer.from(
    [
      'Deal,Company,Amount,Stage,Lost reason,Created',
      'Good one,Good Co,10k,lead,,2026-10-01',
      'Bad amount,Co,ten dollars,lead,,',
      'Bad stage,Co,5k,Flying,,',
      'Lost no reason,Co,5k,lost,,',
      ',Nameless Co,5k,lead,,',
      'Future,Co,5k,lead,,2027-01-01',
      'Good two,Good Co 2,20k,lead,,',
    ].join('\n'),
    'utf8',
  );
}

/** `n` valid rows of a plain UTF-8 CSV. */
export function bigCsv(n: number): Buffer {
  const lines = ['Deal,Company,Amount,Stage,Created'];
  for (let i = 1; i <= n; i++)
    lines.push(`Deal ${i},Company ${i % 97},${(i % 50) + 1}k,lead,2026-0${(i % 9) + 1}-15`);
  return Buffer.from(lines.join('\n'), 'utf8');
}
