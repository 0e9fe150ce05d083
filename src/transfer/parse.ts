/**
 * Reads an uploaded spreadsheet into rows of strings: `.xlsx` through ExcelJS's streaming reader (first
 * worksheet), `.csv`/`.tsv`/`.txt` through csv-parse. No I/O beyond the buffer, no user-facing text: problems
 * are `Invalid` errors on the field `file` with a reason rendered by the transfer catalogue
 * (`transfer.invalid.<reason>`).
 *
 * CSV as spreadsheets export it: UTF-8 with or without BOM, UTF-16 with BOM (Excel's "Unicode text"),
 * otherwise GB18030 (a superset of GBK, what Chinese Excel writes); the separator is whichever of `,` `;` tab
 * gives the most columns consistently over the first lines.
 */
import { Readable } from 'node:stream';
import { parse as parseCsv } from 'csv-parse/sync';
import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { invalid, ok, type Result } from '../domain/errors.js';

export const MAX_FILE_BYTES = 10 * 1024 * 1024;
export const MAX_ROWS = 10_000;

export type SheetFormat = 'xlsx' | 'csv';

export interface Sheet {
  headers: string[];
  /** Data rows (blank rows dropped), each as long as `headers` (missing cells are ''). */
  rows: string[][];
  /** The spreadsheet row number (as Excel shows it; the header row is usually 1) of each entry of `rows`. */
  rowNumbers: number[];
  format: SheetFormat;
  /** CSV only: the detected text encoding and separator. */
  encoding?: 'utf-8' | 'utf-16' | 'gb18030';
  delimiter?: ',' | ';' | '\t';
}

const fileError = (reason: string, params?: Record<string, string | number>): Result<never> =>
  invalid('file', undefined, reason, params);

const ZIP_MAGIC = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
const OLE_MAGIC = Buffer.from([0xd0, 0xcf, 0x11, 0xe0]);

function extension(filename: string): string {
  const m = /\.([a-z0-9]{1,5})$/i.exec(filename.trim());
  return m ? (m[1] ?? '').toLowerCase() : '';
}

/** Reads the first worksheet of an `.xlsx` or a CSV file into strings. Limits: 10 MB, 10,000 data rows. */
export async function readSpreadsheet(buffer: Buffer, filename: string): Promise<Result<Sheet>> {
  if (buffer.length > MAX_FILE_BYTES) return fileError('file_too_large', { max: '10 MB' });
  if (buffer.length === 0) return fileError('file_empty');
  const ext = extension(filename);
  const zip = buffer.subarray(0, 4).equals(ZIP_MAGIC);
  if (ext === 'xls' || buffer.subarray(0, 4).equals(OLE_MAGIC)) return fileError('file_xls');
  if (ext === 'xlsx' || ext === 'xlsm' || zip) {
    if (!zip) return fileError('file_unreadable');
    return readXlsx(buffer);
  }
  if (ext === '' || ext === 'csv' || ext === 'tsv' || ext === 'txt') return readCsv(buffer);
  return fileError('file_type', { accepted: '.xlsx, .csv' });
}

// ───────────────────────────── xlsx ─────────────────────────────

type CellValue = ExcelJS.CellValue;

/** An ExcelJS cell value as text: dates → ISO (date only at midnight), numbers → plain, rich text → text. */
export function cellText(value: CellValue | undefined): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  if (typeof value === 'boolean') return value ? 'TRUE' : 'FALSE';
  if (value instanceof Date) return isoOf(value);
  if (typeof value === 'object') {
    if ('richText' in value && Array.isArray(value.richText))
      return value.richText.map((r) => r.text ?? '').join('');
    if ('formula' in value || 'sharedFormula' in value)
      return cellText((value as { result?: CellValue }).result as CellValue);
    if ('text' in value && typeof (value as { text: unknown }).text !== 'object')
      return String((value as { text: unknown }).text ?? '');
    if ('text' in value) return cellText((value as { text: CellValue }).text);
    if ('error' in value) return String((value as { error: unknown }).error);
  }
  return '';
}

/** Excel dates carry no zone; ExcelJS gives them as UTC instants of the wall-clock value. */
function isoOf(d: Date): string {
  if (Number.isNaN(d.getTime())) return '';
  const iso = d.toISOString();
  return iso.endsWith('T00:00:00.000Z') ? iso.slice(0, 10) : iso.slice(0, 19);
}

async function readXlsx(buffer: Buffer): Promise<Result<Sheet>> {
  const raw: { number: number; cells: string[] }[] = [];
  let tooMany = false;
  try {
    const reader = new ExcelJS.stream.xlsx.WorkbookReader(Readable.from([buffer]), {
      worksheets: 'emit',
      sharedStrings: 'cache',
      styles: 'cache',
      hyperlinks: 'ignore',
    });
    let headerSeen = false;
    let data = 0;
    for await (const sheet of reader) {
      for await (const row of sheet) {
        const values = row.values as CellValue[];
        const cells: string[] = [];
        for (let i = 1; i < values.length; i++) cells.push(cellText(values[i]).trim());
        if (cells.every((c) => c === '')) continue;
        if (headerSeen && ++data > MAX_ROWS) {
          tooMany = true;
          break;
        }
        headerSeen = true;
        raw.push({ number: row.number, cells });
      }
      break; // first worksheet only
    }
  } catch {
    return fileError('file_unreadable');
  }
  if (tooMany) return fileError('file_too_many_rows', { max: MAX_ROWS });
  return toSheet(raw, 'xlsx');
}

// ───────────────────────────── csv ─────────────────────────────

function decode(buffer: Buffer): { text: string; encoding: NonNullable<Sheet['encoding']> } {
  if (buffer[0] === 0xef && buffer[1] === 0xbb && buffer[2] === 0xbf)
    return { text: buffer.subarray(3).toString('utf8'), encoding: 'utf-8' };
  if (buffer[0] === 0xff && buffer[1] === 0xfe)
    return { text: iconv.decode(buffer.subarray(2), 'utf-16le'), encoding: 'utf-16' };
  if (buffer[0] === 0xfe && buffer[1] === 0xff)
    return { text: iconv.decode(buffer.subarray(2), 'utf-16be'), encoding: 'utf-16' };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(buffer), encoding: 'utf-8' };
  } catch {
    return { text: iconv.decode(buffer, 'gb18030'), encoding: 'gb18030' };
  }
}

const DELIMITERS = [',', ';', '\t'] as const;

const csvOptions = (delimiter: string) => ({
  delimiter,
  relax_column_count: true,
  relax_quotes: true,
  skip_empty_lines: false,
});

/** The separator giving the most columns, preferring one whose column count is the same on every sampled line. */
function detectDelimiter(text: string): (typeof DELIMITERS)[number] {
  let best: { d: (typeof DELIMITERS)[number]; score: number } = { d: ',', score: -1 };
  for (const d of DELIMITERS) {
    let records: string[][];
    try {
      records = parseCsv(text, { ...csvOptions(d), to: 20 }) as string[][];
    } catch {
      continue;
    }
    const widths = records.filter((r) => r.some((c) => c.trim() !== '')).map((r) => r.length);
    const first = widths[0] ?? 0;
    if (first < 2) continue;
    const consistent = widths.every((w) => w === first);
    const score = first + (consistent ? 1000 : 0);
    if (score > best.score) best = { d, score };
  }
  return best.d;
}

function readCsv(buffer: Buffer): Result<Sheet> {
  const { text, encoding } = decode(buffer);
  if (text.includes('\u0000')) return fileError('file_unreadable');
  const delimiter = detectDelimiter(text);
  let records: string[][];
  try {
    // Header + MAX_ROWS data rows + one more to detect the excess (blank lines counted, filtered below).
    records = parseCsv(text, { ...csvOptions(delimiter), bom: true }) as string[][];
  } catch {
    return fileError('file_unreadable');
  }
  const raw: { number: number; cells: string[] }[] = [];
  for (let i = 0; i < records.length; i++) {
    const cells = (records[i] ?? []).map((c) => c.trim());
    if (cells.every((c) => c === '')) continue;
    raw.push({ number: i + 1, cells });
    if (raw.length > MAX_ROWS + 1) return fileError('file_too_many_rows', { max: MAX_ROWS });
  }
  const sheet = toSheet(raw, 'csv');
  return sheet.ok ? ok({ ...sheet.value, encoding, delimiter }) : sheet;
}

// ───────────────────────────── common ─────────────────────────────

function toSheet(raw: { number: number; cells: string[] }[], format: SheetFormat): Result<Sheet> {
  const [head, ...body] = raw;
  if (!head) return fileError('file_empty');
  // Trailing empty header cells (Excel's "used range") are dropped unless a data row uses them.
  let width = head.cells.length;
  while (width > 0 && head.cells[width - 1] === '' && body.every((r) => (r.cells[width - 1] ?? '') === ''))
    width--;
  const widest = body.reduce((w, r) => Math.max(w, r.cells.length), width);
  const headers = Array.from({ length: Math.max(width, widest) }, (_, i) => head.cells[i] ?? '');
  if (body.length === 0) return fileError('file_no_rows');
  return ok({
    headers,
    rows: body.map((r) => headers.map((_, i) => r.cells[i] ?? '')),
    rowNumbers: body.map((r) => r.number),
    format,
  });
}
