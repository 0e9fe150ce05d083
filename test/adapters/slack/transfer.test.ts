/**
 * Import and export on Slack, end to end through Bolt's HTTP receiver against the fake Slack:
 * `/deal import` (file_input modal → preview → form → report), a spreadsheet shared in the
 * bot's DM, `/pipeline export` (files uploaded into the user's DM, read back cell by cell) and
 * the manager-only refusals.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type ApiCall, type Json } from './fake-slack.js';
import { limitProblems, startHarness, visibleText, type Harness } from './harness.js';

let h: Harness;
const WS = 'slack:T1';
const admin = { user: 'UADMIN' };
const rep = { user: 'UREP1' };

beforeAll(async () => {
  h = await startHarness({ db: 'slack_transfer' });
  h.fake.users.set('UADMIN', { id: 'UADMIN', name: 'Ada' });
  h.fake.users.set('UREP1', { id: 'UREP1', name: 'Rui' });
  // The first member of a workspace is its admin.
  await h.sim.command('/deal', 'help', admin);
  await h.fake.nextResponse(1);
  await h.sim.command('/deal', 'help', rep);
  await h.fake.nextResponse(2);
});
afterAll(async () => {
  await h?.stop();
});
beforeEach(() => {
  expect(limitProblems(h.fake)).toEqual([]);
  h.fake.reset();
});

const deals = async () => (await h.core.deps.store.listDeals(WS, {}, { limit: 100 })).deals;

async function xlsx(rows: unknown[][]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Pipeline');
  for (const r of rows) ws.addRow(r);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

type Block = { type: string; block_id?: string; element?: Json; elements?: Json[] };
const blocksOf = (payload: Json) => (payload.blocks as Block[]) ?? [];
const inputIds = (view: Json) =>
  blocksOf(view)
    .filter((b) => b.type === 'input')
    .map((b) => b.block_id);
const buttonsOf = (payload: Json) =>
  blocksOf(payload)
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements!);
const select = (value: string): Json => ({
  type: 'static_select',
  selected_option: { value, text: { type: 'plain_text', text: value } },
});

async function nextPost(): Promise<ApiCall> {
  return h.fake.nextCall('chat.postMessage');
}

describe('/deal import', () => {
  it('opens a file modal; the chosen file becomes a preview in the DM and the import form in the modal; submitting imports and DMs the report', async () => {
    const n = h.fake.callsTo('views.open').length + 1;
    await h.sim.command('/deal', 'import', { ...admin, channel: 'C1' });
    const modal = (await h.fake.nextCall('views.open', n)).args.view as Json;
    expect(modal.callback_id).toBe('dp:import:file');
    expect(blocksOf(modal)[0]).toMatchObject({
      type: 'input',
      block_id: 'file',
      element: { type: 'file_input', action_id: 'v', filetypes: ['xlsx', 'csv'], max_files: 1 },
    });
    expect(visibleText(modal)).toContain('Spreadsheet (.xlsx or .csv)');

    const file = h.fake.addFile(
      'q3 pipeline.xlsx',
      await xlsx([
        ['Deal', 'Company', 'Amount', 'Stage', 'Region'],
        ['Acme renewal', 'Acme Corp', 50000, 'Lead', 'EMEA'],
        ['Globex expansion', 'Globex', 1200, 'Qualification', 'APAC'],
      ]),
    );
    // Slack puts the chosen files in the input's state; the submission is answered at once.
    const submitted = await h.sim.viewSubmission(
      admin,
      modal,
      { file: { type: 'file_input', files: [file] } },
      'VFILE1',
    );
    expect(submitted.status).toBe(200);
    const ack = submitted.json();
    expect(ack.response_action).toBe('update');
    expect(visibleText(ack.view)).toContain('Reading q3 pipeline.xlsx…');

    const update = await h.fake.nextCall('views.update');
    expect(update.args.view_id).toBe('VFILE1');
    const form = update.args.view as Json;
    expect(form.callback_id).toBe('dp:form:import');
    expect(inputIds(form)).toEqual(['mode', 'unknownColumns']);
    expect(visibleText(form)).toContain('2 rows: 2 new');
    expect(visibleText(form)).toContain('Region');
    // Downloaded once, from url_private_download, with the bot token.
    expect(h.fake.downloads).toEqual([{ path: expect.stringContaining('/download/'), token: 'xoxb-test' }]);

    const preview = h.fake.callsTo('chat.postMessage')[0]!;
    expect(preview.args.channel).toBe('UADMIN');
    expect(visibleText(preview.args)).toContain('Import preview');
    expect(visibleText(preview.args)).toContain('Acme renewal');
    expect(buttonsOf(preview.args)).toEqual([
      expect.objectContaining({
        action_id: 'dpimport:open',
        value: JSON.parse(String(form.private_metadata)).s,
      }),
    ]);
    expect(await deals()).toEqual([]);

    const confirm = await h.sim.viewSubmission(
      admin,
      form,
      { mode: select('valid_only'), unknownColumns: select('custom') },
      'VFORM1',
    );
    expect(confirm.json().response_action).toBe('update');
    expect(visibleText(confirm.json().view)).toContain('Importing…');
    const report = await h.fake.nextCall('chat.postMessage', 2);
    expect(report.args.channel).toBe('UADMIN');
    const text = visibleText(report.args);
    expect(text).toContain('Import finished: q3 pipeline.xlsx');
    expect(text).toContain('2 created, 0 updated, 0 unchanged, 0 skipped.');
    expect(text).toContain('New custom fields: Region');
    const acme = (await deals()).find((d) => d.name === 'Acme renewal')!;
    expect(acme).toMatchObject({
      company: 'Acme Corp',
      amount: 50000,
      stage: 'lead',
      custom: { region: 'EMEA' },
    });
    expect((await deals()).map((d) => d.name).sort()).toEqual(['Acme renewal', 'Globex expansion']);

    // The same form submitted again (double click) imports nothing more and reports nothing twice.
    await h.sim.viewSubmission(
      admin,
      form,
      { mode: select('valid_only'), unknownColumns: select('custom') },
      'VFORM1',
    );
    await h.sim.command('/deal', 'help', admin);
    await h.fake.nextResponse();
    expect(h.fake.callsTo('chat.postMessage')).toHaveLength(2);
    expect(await deals()).toHaveLength(2);
  });

  it('a file that is not a spreadsheet table replaces the modal content with the reason', async () => {
    const modal = (
      await (async () => {
        await h.sim.command('/deal', 'import', admin);
        return h.fake.nextCall('views.open');
      })()
    ).args.view as Json;
    const file = h.fake.addFile('notes.csv', Buffer.from('Colour,Size\nred,big\n', 'utf8'), 'text/csv');
    await h.sim.viewSubmission(admin, modal, { file: { type: 'file_input', files: [file] } }, 'VFILE2');
    const update = await h.fake.nextCall('views.update');
    expect(update.args.view_id).toBe('VFILE2');
    expect(visibleText(update.args.view)).toContain('No column holds the deal name.');
    expect(h.fake.callsTo('chat.postMessage')).toEqual([]);
  });

  it('a rep gets the localized refusal and no modal', async () => {
    await h.sim.command('/deal', 'import', rep);
    const r = await h.fake.nextResponse();
    expect(r.body.response_type).toBe('ephemeral');
    expect(visibleText(r.body)).toContain('Only managers can import deals.');
    expect(h.fake.callsTo('views.open')).toEqual([]);
  });
});

const fileShare = (user: string, files: Json[], extra: Json = {}) =>
  h.sim.event({
    type: 'message',
    subtype: 'file_share',
    channel: `D${user.slice(1)}`,
    channel_type: 'im',
    user,
    text: '',
    ts: `${1_700_000_500 + Math.floor(Math.random() * 1000)}.000100`,
    files,
    ...extra,
  });

describe('a spreadsheet shared in the DM', () => {
  it('gets the preview with a button; the button opens the form; all-or-nothing with a bad row imports nothing', async () => {
    const csv = [
      'Deal,Company,Amount,Stage',
      'Initech pilot,Initech,20000,Lead',
      'Hooli deal,Hooli,lots,Lead',
      '',
    ].join('\r\n');
    await fileShare('UADMIN', [h.fake.addFile('pilots.csv', Buffer.from(csv, 'utf8'), 'text/csv')]);
    const preview = await nextPost();
    expect(preview.args.channel).toBe('DADMIN');
    const text = visibleText(preview.args);
    expect(text).toContain('Import preview: pilots.csv');
    expect(text).toContain('2 rows: 1 new, 0 to update, 0 unchanged, 1 with problems.');
    expect(text).toContain('Row 3');
    const [button] = buttonsOf(preview.args);
    expect(button).toMatchObject({ action_id: 'dpimport:open', style: 'primary' });

    await h.sim.blockAction(
      { user: 'UADMIN', channel: 'DADMIN' },
      {
        action_id: 'dpimport:open',
        value: String(button!.value),
      },
    );
    const form = (await h.fake.nextCall('views.open')).args.view as Json;
    expect(form.callback_id).toBe('dp:form:import');
    expect(inputIds(form)).toEqual(['mode']);
    await h.sim.viewSubmission(admin, form, { mode: select('all_or_nothing') }, 'VFORM2');
    const report = await h.fake.nextCall('chat.postMessage', 2);
    expect(visibleText(report.args)).toContain('Nothing was imported: pilots.csv');
    expect((await deals()).some((d) => d.name === 'Initech pilot')).toBe(false);

    // The upload is kept after an aborted import: the same button can run it again with valid_only.
    await h.sim.blockAction(
      { user: 'UADMIN', channel: 'DADMIN' },
      {
        action_id: 'dpimport:open',
        value: String(button!.value),
      },
    );
    const again = (await h.fake.nextCall('views.open', 2)).args.view as Json;
    await h.sim.viewSubmission(admin, again, { mode: select('valid_only') }, 'VFORM3');
    const second = await h.fake.nextCall('chat.postMessage', 3);
    expect(visibleText(second.args)).toContain('1 created, 0 updated, 0 unchanged, 1 skipped.');
    expect((await deals()).some((d) => d.name === 'Initech pilot')).toBe(true);

    // Once written, the upload is gone: the button says so.
    await h.sim.blockAction(
      { user: 'UADMIN', channel: 'DADMIN' },
      {
        action_id: 'dpimport:open',
        value: String(button!.value),
      },
    );
    const expired = await h.fake.nextResponse();
    expect(visibleText(expired.body)).toContain('This import has expired');
  });

  it('other files, files in threads and files from a rep: nothing for the first two, the refusal for the rep', async () => {
    await fileShare('UADMIN', [h.fake.addFile('photo.png', Buffer.from([0x89, 0x50]), 'image/png')]);
    const csv = h.fake.addFile('x.csv', Buffer.from('Deal\nA\n', 'utf8'), 'text/csv');
    await fileShare('UADMIN', [csv], { thread_ts: '1700000000.000100' });
    await fileShare('UREP1', [h.fake.addFile('mine.csv', Buffer.from('Deal\nMine\n', 'utf8'), 'text/csv')]);
    const refusal = await nextPost();
    expect(refusal.args.channel).toBe('DREP1');
    expect(visibleText(refusal.args)).toContain('Only managers can import deals.');
    expect(h.fake.callsTo('chat.postMessage')).toHaveLength(1);
    expect(h.fake.downloads).toEqual([]);
  });

  it('when Slack answers the download with its sign-in page (no files:read), says the file could not be downloaded', async () => {
    h.fake.botToken = 'xoxb-other';
    try {
      await fileShare('UADMIN', [h.fake.addFile('deals.csv', Buffer.from('Deal\nA\n', 'utf8'), 'text/csv')]);
      const post = await nextPost();
      expect(visibleText(post.args)).toContain('I could not download that file from Slack.');
      expect(await deals()).not.toContainEqual(expect.objectContaining({ name: 'A' }));
    } finally {
      h.fake.botToken = 'xoxb-test';
    }
  });
});

describe('the bot token', () => {
  it('is only sent to Slack: a file whose download URL points elsewhere is not fetched', async () => {
    const hits: string[] = [];
    const other = createServer((req, res) => {
      hits.push(String(req.headers.authorization));
      res.end('Deal\nLeak\n');
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
    try {
      const port = (other.address() as AddressInfo).port;
      const file = {
        ...h.fake.addFile('deals.csv', Buffer.from('Deal\nA\n', 'utf8'), 'text/csv'),
        url_private: `http://127.0.0.1:${port}/deals.csv`,
        url_private_download: `http://127.0.0.1:${port}/download/deals.csv`,
      };
      await fileShare('UADMIN', [file]);
      const post = await nextPost();
      expect(visibleText(post.args)).toContain('I could not download that file from Slack.');
      expect(hits).toEqual([]);
    } finally {
      await new Promise<void>((r) => other.close(() => r()));
    }
  });
});

describe('/pipeline export', () => {
  beforeAll(async () => {
    await h.sim.command('/deal', 'new Umbrella renewal 80k Umbrella', admin);
    await h.fake.nextCall('chat.postMessage');
    h.fake.reset();
  });
  const cells = (csv: Buffer) =>
    csv
      .toString('utf8')
      .replace(/^\uFEFF/, '')
      .split('\r\n')
      .filter(Boolean)
      .map((line) => line.split(','));

  it('csv: two files uploaded into the DM in one message with the caption; the cells are the deals and their stage changes', async () => {
    await h.sim.command('/pipeline', 'export csv', { ...admin, channel: 'C1' });
    const preparing = await h.fake.nextResponse();
    expect(visibleText(preparing.body)).toContain('Preparing your export');
    const done = await h.fake.nextCall('files.completeUploadExternal');
    expect(h.fake.callsTo('conversations.open')[0]!.args.users).toBe('UADMIN');
    expect(done.args.channel_id).toBe('DADMIN');
    const count = (await deals()).length;
    expect(String(done.args.initial_comment)).toMatch(
      new RegExp(`^Your pipeline export: ${count} deals, \\d+ stage changes\\.$`),
    );
    expect((done.args.files as Json[]).map((f) => f.title)).toEqual([
      expect.stringMatching(/^dealpulse-deals-\d{4}-\d{2}-\d{2}\.csv$/),
      expect.stringMatching(/^dealpulse-stage-changes-\d{4}-\d{2}-\d{2}\.csv$/),
    ]);
    expect(h.fake.uploads).toHaveLength(2);
    const byName = new Map(h.fake.uploads.map((u) => [u.filename!.split('-')[1], u.data!]));
    const dealRows = cells(byName.get('deals')!);
    expect(dealRows[0]!.slice(0, 4)).toEqual(['Deal code', 'External ID', 'Deal', 'Company']);
    expect(
      dealRows
        .slice(1)
        .map((r) => r[2])
        .sort(),
    ).toEqual((await deals()).map((d) => d.name).sort());
    const umbrella = dealRows.find((r) => r[2] === 'Umbrella renewal')!;
    expect(umbrella.slice(3, 7)).toEqual(['Umbrella', '80000', 'USD', 'Lead']);
    const changes = cells(byName.get('stage')!);
    expect(changes[0]).toEqual([
      'Deal code',
      'Deal',
      'From stage',
      'To stage',
      'Changed at',
      'Changed by',
      'Reason',
    ]);
    expect(changes.filter((r) => r[1] === 'Umbrella renewal').map((r) => [r[2], r[3], r[5]])).toEqual([
      ['', 'Lead', 'Ada'],
    ]);
  });

  it('xlsx (the default): one workbook with a Deals and a Stage changes sheet', async () => {
    await h.sim.command('/pipeline', 'export', admin);
    await h.fake.nextCall('files.completeUploadExternal');
    expect(h.fake.uploads).toHaveLength(1);
    const upload = h.fake.uploads[0]!;
    expect(upload.filename).toMatch(/^dealpulse-pipeline-\d{4}-\d{2}-\d{2}\.xlsx$/);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(upload.data! as unknown as ArrayBuffer);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['Deals', 'Stage changes']);
    const sheet = wb.worksheets[0]!;
    expect(sheet.getRow(1).getCell(3).value).toBe('Deal');
    const names: unknown[] = [];
    sheet.eachRow((row, i) => {
      if (i > 1) names.push(row.getCell(3).value);
    });
    expect(names.sort()).toEqual((await deals()).map((d) => d.name).sort());
  });

  it('a rep gets the localized refusal and no file', async () => {
    await h.sim.command('/pipeline', 'export csv', rep);
    const r = await h.fake.nextResponse();
    expect(visibleText(r.body)).toContain('Only managers can export the pipeline.');
    expect(h.fake.responses).toHaveLength(1);
    expect(h.fake.callsTo('files.getUploadURLExternal')).toEqual([]);
    expect(h.fake.callsTo('conversations.open')).toEqual([]);
  });
});
