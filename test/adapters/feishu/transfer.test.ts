/**
 * Import and export on Feishu, end to end over HTTP against the fake open platform: a file sent in
 * a direct chat → preview card and form card → card form submission answered at once → report;
 * `导出` / `/pipeline export csv` → files uploaded and sent to the user; managers only.
 */
import ExcelJS from 'exceljs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFeishu, type FeishuAdapter } from '../../../src/adapters/feishu/index.js';
import type { Card, SubmitValue } from '../../../src/adapters/feishu/render.js';
import { createCore, type Core } from '../../../src/app.js';
import { configSchema } from '../../../src/config.js';
import { silentLogger } from '../../../src/logger.js';
import { testMongoUri, uniqueDbName } from '../../helpers/db.js';
import {
  APP_ID,
  APP_SECRET,
  FakeFeishu,
  TENANT,
  VERIFICATION_TOKEN,
  cardAction,
  messageEvent,
  postToBot,
  type ApiCall,
} from './fake-feishu.js';

let fake: FakeFeishu;
let core: Core;
let bot: FeishuAdapter;
const WS = `feishu:${TENANT}`;
const ADMIN = 'ou_admin';
const REP = 'ou_rep';

beforeAll(async () => {
  fake = await FakeFeishu.start();
  core = await createCore({
    config: configSchema.parse({}),
    logger: silentLogger,
    uri: testMongoUri(),
    dbName: uniqueDbName('feishu_transfer'),
  });
  bot = await startFeishu(
    core,
    configSchema.parse({
      FEISHU_APP_ID: APP_ID,
      FEISHU_APP_SECRET: APP_SECRET,
      FEISHU_VERIFICATION_TOKEN: VERIFICATION_TOKEN,
      FEISHU_DOMAIN: fake.url,
      FEISHU_MODE: 'http',
    }),
    silentLogger,
    { listen: 0, backoffMs: 1 },
  );
  // The first member of a workspace is its admin.
  await send(messageEvent({ text: 'help', openId: ADMIN, chatId: `oc_dm_${ADMIN}` }));
  await send(messageEvent({ text: 'help', openId: REP, chatId: `oc_dm_${REP}` }));
});
afterAll(async () => {
  await bot?.stop();
  await core?.stop();
  await fake?.close();
});
beforeEach(() => fake.clear());

async function send(payload: object) {
  const r = await postToBot(`${bot.url}/feishu/events`, payload);
  await bot.drain();
  return r;
}
type Answer = { toast?: { type: string; content: string }; card?: unknown };
async function click(payload: object): Promise<Answer> {
  const r = await postToBot(`${bot.url}/feishu/card`, payload);
  return (r.body ? JSON.parse(r.body) : {}) as Answer;
}

const text = (v: unknown): string => JSON.stringify(v);
const deals = async () => (await core.deps.store.listDeals(WS, {}, { limit: 100 })).deals;
let n = 0;
function fileMessage(openId: string, name: string, data: Buffer) {
  n += 1;
  const messageId = `om_file_${n}`;
  const fileKey = `file_v3_user_${n}`;
  fake.addResource(messageId, fileKey, data);
  fake.knowMessage(messageId, `oc_dm_${openId}`);
  return messageEvent({
    text: '',
    openId,
    chatId: `oc_dm_${openId}`,
    messageId,
    messageType: 'file',
    content: JSON.stringify({ file_key: fileKey, file_name: name }),
  });
}
function submitOf(card: unknown): SubmitValue {
  const form = (card as Card).body.elements.find((e) => e.tag === 'form') as {
    elements: { form_action_type?: string; behaviors?: { value: SubmitValue }[] }[];
  };
  return form.elements.find((e) => e.form_action_type === 'submit')!.behaviors![0]!.value;
}
const field = (v: SubmitValue, name: string) => `f${v.n.indexOf(name)}`;

async function xlsx(rows: unknown[][]): Promise<Buffer> {
  const wb = new ExcelJS.Workbook();
  const ws = wb.addWorksheet('Pipeline');
  for (const r of rows) ws.addRow(r);
  return Buffer.from(await wb.xlsx.writeBuffer());
}

describe('import from a file sent in a direct chat', () => {
  it('preview card and form card; the submission is answered at once with a toast; the report follows', async () => {
    const file = await xlsx([
      ['商机名称', '客户名称', '金额', '阶段', '区域'],
      ['华东物流项目', '上海物流', 200000, '潜在客户', '华东'],
      ['北京数据平台', '北京某某集团', 120000, 'Qualification', '华北'],
    ]);
    await send(fileMessage(ADMIN, '商机.xlsx', file));
    expect(fake.downloads().map((c) => c.query)).toEqual([{ type: 'file' }]);
    const [preview, formMsg] = fake.messages();
    expect(fake.messages()).toHaveLength(2);
    expect(preview!.path).toBe('/open-apis/im/v1/messages/om_file_1/reply');
    expect(text(preview!.card)).toContain('导入预览：商机.xlsx');
    expect(text(preview!.card)).toContain('华东物流项目');
    expect(text(formMsg!.card)).toContain('有问题的行');
    const submit = submitOf(formMsg!.card);
    expect(submit.f).toBe('import');
    expect(submit.n).toEqual(['mode', 'unknownColumns']);
    expect(await deals()).toEqual([]);

    // Hold replies so the import cannot finish: the callback is still answered, with the toast.
    const release = fake.hold('/open-apis/im/v1/messages/om_form');
    const answer = await click(
      cardAction({
        value: submit,
        formValue: { [field(submit, 'mode')]: 'valid_only', [field(submit, 'unknownColumns')]: 'custom' },
        openId: ADMIN,
        messageId: 'om_form',
        chatId: `oc_dm_${ADMIN}`,
      }),
    );
    expect(answer).toEqual({
      toast: { type: 'info', content: '正在导入……结果稍后发在这个会话中。' },
    });
    release();
    await bot.drain();
    const after = fake.messages();
    const patch = after.find((c) => c.method === 'PATCH')!;
    expect(patch.path).toBe('/open-apis/im/v1/messages/om_form');
    expect(text(patch.card)).toContain('已提交导入，结果见下方。');
    const report = after.find((c) => c.path === '/open-apis/im/v1/messages/om_form/reply')!;
    expect(text(report.card)).toContain('导入完成：商机.xlsx');
    expect(text(report.card)).toContain('新建 2，更新 0，无变化 0，跳过 0。');
    // The unknown column became a custom field labelled 区域.
    const region = (await core.deps.store.getWorkspace(WS))!.settings.customFields.find(
      (c) => c.labels['zh-CN'] === '区域',
    );
    const customKey = region!.key;
    const names = (await deals()).map((d) => d.name).sort();
    expect(names).toEqual(['北京数据平台', '华东物流项目']);
    expect((await deals()).find((d) => d.name === '华东物流项目')).toMatchObject({
      amount: 200000,
      stage: 'lead',
      custom: { [customKey]: '华东' },
    });
  });

  it('a second submission after the import: the upload is gone, the user is told to send the file again', async () => {
    await send(fileMessage(ADMIN, 'again.csv', Buffer.from('Deal,Amount\nAgain deal,1000\n', 'utf8')));
    const submit = submitOf(fake.messages()[1]!.card);
    const value = { [field(submit, 'mode')]: 'valid_only' };
    await click(cardAction({ value: submit, formValue: value, openId: ADMIN, messageId: 'om_form2' }));
    await bot.drain();
    fake.clear();
    await click(cardAction({ value: submit, formValue: value, openId: ADMIN, messageId: 'om_form2' }));
    await bot.drain();
    const reply = fake.messages().find((c) => c.path.endsWith('/reply'))!;
    expect(text(reply.card)).toContain('本次导入已过期（文件只保留一小时），请重新发送文件。');
    expect((await deals()).filter((d) => d.name === 'Again deal')).toHaveLength(1);
  });

  it('a rep gets the refusal; other file types get the accepted ones; neither file is downloaded', async () => {
    await send(fileMessage(REP, 'mine.csv', Buffer.from('Deal\nMine\n', 'utf8')));
    await send(fileMessage(ADMIN, 'contract.pdf', Buffer.from('%PDF-1.4', 'latin1')));
    const [refusal, type] = fake.messages();
    expect(text(refusal!.card)).toContain('只有经理可以导入商机。');
    expect(text(type!.card)).toContain('不支持该文件类型，请发送以下格式之一：.xlsx, .csv。');
    expect(fake.downloads()).toEqual([]);
  });
});

describe('export', () => {
  const fileMessages = (): ApiCall[] =>
    fake.calls.filter((c) => c.path === '/open-apis/im/v1/messages' && c.body.msg_type === 'file');

  it('导出: the caption card, then the workbook uploaded as xls and sent to the user', async () => {
    await send(messageEvent({ text: '导出', openId: ADMIN, chatId: `oc_dm_${ADMIN}` }));
    const caption = fake.messages()[0]!;
    expect(caption.query).toEqual({ receive_id_type: 'open_id' });
    expect(caption.body.receive_id).toBe(ADMIN);
    const count = (await deals()).length;
    expect(text(caption.card)).toContain(`销售漏斗导出：${count} 个商机`);
    const uploaded = [...fake.files.values()];
    expect(uploaded.map((f) => [f.type, f.name])).toEqual([
      ['xls', expect.stringMatching(/^dealpulse-pipeline-\d{4}-\d{2}-\d{2}\.xlsx$/)],
    ]);
    const sent = fileMessages();
    expect(sent).toHaveLength(1);
    expect(sent[0]!.query).toEqual({ receive_id_type: 'open_id' });
    expect(sent[0]!.body.receive_id).toBe(ADMIN);
    expect(JSON.parse(String(sent[0]!.body.content))).toEqual({ file_key: [...fake.files.keys()][0] });
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(uploaded[0]!.data as unknown as ArrayBuffer);
    expect(wb.worksheets.map((w) => w.name)).toEqual(['商机', '阶段变更']);
    const rows: unknown[][] = [];
    wb.worksheets[0]!.eachRow((row) => rows.push((row.values as unknown[]).slice(1)));
    expect(rows[0]!.slice(0, 5)).toEqual(['商机编号', '外部编号', '商机名称', '客户名称', '金额']);
    const hd = rows.find((r) => r[2] === '华东物流项目')!;
    expect([hd[3], hd[4], hd[6]]).toEqual(['上海物流', 200000, '潜在客户']);
    expect(
      rows
        .slice(1)
        .map((r) => r[2])
        .sort(),
    ).toEqual((await deals()).map((d) => d.name).sort());
  });

  it('/pipeline export csv from a group: two CSV files to the sender’s direct chat, and a note in the group only they see', async () => {
    fake.knowMessage('om_grp_export', 'oc_group');
    await send(
      messageEvent({
        text: '/pipeline export csv',
        openId: ADMIN,
        chatId: 'oc_group',
        chatType: 'group',
        atBot: true,
        messageId: 'om_grp_export',
      }),
    );
    const uploaded = [...fake.files.values()];
    expect(uploaded.map((f) => f.type)).toEqual(['stream', 'stream']);
    expect(uploaded.map((f) => f.name)).toEqual([
      expect.stringMatching(/^dealpulse-deals-.*\.csv$/),
      expect.stringMatching(/^dealpulse-stage-changes-.*\.csv$/),
    ]);
    expect(fileMessages().map((c) => c.body.receive_id)).toEqual([ADMIN, ADMIN]);
    const csv = uploaded[0]!.data
      .toString('utf8')
      .replace(/^\uFEFF/, '')
      .split('\r\n');
    expect(csv[0]!.split(',').slice(0, 3)).toEqual(['商机编号', '外部编号', '商机名称']);
    expect(
      csv
        .find((l) => l.includes('华东物流项目'))!
        .split(',')
        .slice(3, 5),
    ).toEqual(['上海物流', '200000']);
    const changes = uploaded[1]!.data
      .toString('utf8')
      .replace(/^\uFEFF/, '')
      .split('\r\n');
    expect(changes[0]).toBe('商机编号,商机名称,原阶段,新阶段,变更时间,操作人,原因');
    const eph = fake.calls.filter((c) => c.path === '/open-apis/ephemeral/v1/send');
    expect(eph).toHaveLength(1);
    expect(eph[0]!.body).toMatchObject({ chat_id: 'oc_group', open_id: ADMIN });
    expect(text(eph[0]!.card)).toContain('导出文件已通过私聊发给你。');
  });

  it('a rep gets the refusal and no file', async () => {
    await send(messageEvent({ text: '/pipeline export xlsx', openId: REP, chatId: `oc_dm_${REP}` }));
    expect(fake.messages()).toHaveLength(1);
    expect(text(fake.messages()[0]!.card)).toContain('只有经理可以导出销售数据。');
    expect(fake.files.size).toBe(0);
    expect(fake.calls.some((c) => c.path === '/open-apis/im/v1/files')).toBe(false);
  });
});
