/**
 * Reliability through the Feishu event endpoint (real Lark SDK dispatcher, local
 * fake of the open API) and the console's `--exec` path (a child process, as a
 * user runs it): a subset of the bad-input corpus in messages, other tenants'
 * deal codes, and a rep's limits.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFeishu, type FeishuAdapter } from '../../src/adapters/feishu/index.js';
import { createCore, type Core } from '../../src/app.js';
import { configSchema } from '../../src/config.js';
import type { Deal } from '../../src/domain/types.js';
import { silentLogger } from '../../src/logger.js';
import {
  APP_ID,
  APP_SECRET,
  FakeFeishu,
  VERIFICATION_TOKEN,
  cardAction,
  messageEvent,
  postToBot,
} from '../adapters/feishu/fake-feishu.js';
import { testMongoUri, uniqueDbName } from '../helpers/db.js';

// ── a subset of the corpus in test/reliability/bad-input.test.ts ─────────────
const BAD_CODES = [
  'D-0',
  'D-abc',
  'D--1',
  'D-99999999999',
  '{"$ne": null}',
  '$gt',
  '<@U1>',
  'DD-1',
  '🙂',
  'x',
];
const BAD_STAGES = ['nowhere', 'zz', '🙂', '{"$in": []}', 'stage<script>', '方案报价签约', '$', 'qx'];
const BAD_DURATIONS = ['forever', '0d', '-1d', '12h', 'soon', '{"$gt": 0}', '100000d', '周'];
const BAD_DATES = ['someday', '2026-02-30', '{"$gt": ""}', '32号', '周八', '9999-99-99'];

let fake: FakeFeishu;
let core: Core;
let bot: FeishuAdapter;

beforeAll(async () => {
  fake = await FakeFeishu.start();
  core = await createCore({
    config: configSchema.parse({}),
    logger: silentLogger,
    uri: testMongoUri(),
    dbName: uniqueDbName('rel_feishu'),
  });
  bot = await startFeishu(
    core,
    configSchema.parse({
      FEISHU_APP_ID: APP_ID,
      FEISHU_APP_SECRET: APP_SECRET,
      FEISHU_VERIFICATION_TOKEN: VERIFICATION_TOKEN,
      FEISHU_DOMAIN: fake.url,
      FEISHU_MODE: 'http',
      PORT: '0',
    }),
    silentLogger,
    { listen: 0, backoffMs: 1 },
  );
});
afterAll(async () => {
  await bot?.stop();
  await core?.conn.dropDatabase().catch(() => {});
  await core?.stop();
  await fake?.close();
});
beforeEach(() => fake.clear());

/** Sends a direct message to the bot and returns everything it answered (card JSON as text). */
async function say(text: string, opts: { tenant?: string; openId?: string } = {}): Promise<string> {
  return JSON.stringify(await sayCards(text, opts));
}

async function sayCards(text: string, opts: { tenant?: string; openId?: string } = {}): Promise<unknown[]> {
  const r = await postToBot(`${bot.url}/feishu/events`, messageEvent({ text, ...opts }));
  expect(r.status).toBe(200);
  await bot.drain();
  const answer = fake.messages().map((c) => c.card ?? c.body);
  fake.clear();
  return answer;
}

/** The submit button's callback value of the form in a card. */
function formSubmit(card: unknown, form: string): { f: string; n: string[] } | undefined {
  if (Array.isArray(card)) {
    for (const c of card) {
      const v = formSubmit(c, form);
      if (v) return v;
    }
  } else if (card && typeof card === 'object') {
    const o = card as Record<string, unknown>;
    const value = o.value as { f?: unknown; n?: unknown } | undefined;
    if (value && value.f === form && Array.isArray(value.n)) return value as { f: string; n: string[] };
    for (const v of Object.values(o)) {
      const found = formSubmit(v, form);
      if (found) return found;
    }
  }
  return undefined;
}

const dealsOf = async (tenant: string): Promise<Deal[]> =>
  (await core.deps.store.listDeals(`feishu:${tenant}`, {}, { limit: 1000 })).deals;

describe('bad input through the Feishu event endpoint (zh-CN)', () => {
  const tenant = 'tenant_badinput';
  beforeAll(async () => {
    expect(await say('新建 坏输入目标 1万 目标公司', { tenant })).toContain('坏输入目标');
  });
  const target = async () => (await dealsOf(tenant))[0]!;

  it('has at least 30 cases', () => {
    expect(
      BAD_CODES.length + BAD_STAGES.length + BAD_DURATIONS.length + BAD_DATES.length,
    ).toBeGreaterThanOrEqual(30);
  });

  it.each(BAD_CODES)('查看 %j: a clear message, never another deal', async (bad) => {
    const seen = await say(`查看 "${bad}"`, { tenant });
    expect(seen).toMatch(/不是商机编号|找不到商机|需要商机编号|DealPulse/);
    expect(seen).not.toContain('目标公司');
    expect(await dealsOf(tenant)).toHaveLength(1);
  });

  it.each(BAD_STAGES)('推进 D-1 %j: names the stages that exist, nothing moves', async (stage) => {
    const seen = await say(`推进 D-1 "${stage}"`, { tenant });
    expect(seen).toMatch(/没有名为“.*”的阶段|匹配到多个阶段/);
    expect(seen).toContain('潜在客户');
    expect((await target()).stage).toBe('lead');
  });

  it.each(BAD_DURATIONS)('暂停 D-1 %j: refused with what is accepted', async (d) => {
    const seen = await say(`snooze D-1 "${d}"`, { tenant });
    expect(seen).toMatch(/时长/);
    expect((await target()).snoozedUntil).toBeNull();
  });

  it.each(BAD_DATES)('next-step form, due %j: the card comes back red on the due date', async (due) => {
    const before = await target();
    const value = formSubmit(await sayCards('下一步 D-1', { tenant }), 'next_step');
    expect(value).toBeTruthy();
    if (!value) return;
    const r = await postToBot(
      `${bot.url}/feishu/card`,
      cardAction({
        tenant,
        value,
        formValue: {
          [`f${value.n.indexOf('nextStep.text')}`]: '打电话',
          [`f${value.n.indexOf('nextStep.due')}`]: due,
        },
      }),
    );
    await bot.drain();
    const body = JSON.parse(r.body) as { toast?: { type: string }; card?: { data: unknown } };
    expect(body.toast?.type).toBe('error');
    expect(JSON.stringify(body.card?.data)).toMatch(/截止日期/);
    expect((await target()).nextStep).toEqual(before.nextStep);
    expect((await target()).version).toBe(before.version);
  });
});

describe('another tenant’s deal codes and a rep’s limits through Feishu', () => {
  const home = 'tenant_home';
  const other = 'tenant_other';
  let deal: Deal;
  beforeAll(async () => {
    await say('帮助', { tenant: home, openId: 'ou_admin' });
    expect(await say('新建 机密项目 8万 机密公司', { tenant: home, openId: 'ou_rep' })).toContain('机密项目');
    deal = (await dealsOf(home))[0]!;
    await say('帮助', { tenant: other, openId: 'ou_intruder' });
  });

  it('are never readable or changeable, by message or by a button carrying the deal’s id', async () => {
    for (const text of [
      `查看 ${deal.code}`,
      `历史 ${deal.code}`,
      '列表 全部',
      `推进 ${deal.code} 需求分析`,
      `赢单 ${deal.code}`,
      `备注 ${deal.code} 被篡改`,
      `snooze ${deal.code} 3d`,
    ]) {
      const seen = await say(text, { tenant: other, openId: 'ou_intruder' });
      expect(seen, text).not.toContain('机密');
    }
    for (const a of ['advance', 'won', 'snooze_3d', 'note']) {
      const r = await postToBot(
        `${bot.url}/feishu/card`,
        cardAction({ tenant: other, openId: 'ou_intruder', value: { a, v: deal.id } }),
      );
      await bot.drain();
      expect(r.body, a).not.toContain('机密');
    }
    for (const m of fake.messages()) expect(JSON.stringify(m.card ?? m.body)).not.toContain('机密');
    const after = (await dealsOf(home))[0]!;
    expect(after).toMatchObject({ stage: 'lead', status: 'open', version: deal.version, snoozedUntil: null });
    expect(await core.deps.store.models.Note.countDocuments({ dealId: deal.id })).toBe(0);
    expect(await dealsOf(other)).toEqual([]);
  });

  it('a rep cannot open the settings or close another rep’s deal', async () => {
    await say('帮助', { tenant: home, openId: 'ou_rep2' });
    const settings = await say('设置', { tenant: home, openId: 'ou_rep2' });
    expect(settings).toMatch(/只有(管理员|经理)/);
    expect(settings).not.toContain('"f":"settings"');
    for (const text of [`赢单 ${deal.code}`, `流失 ${deal.code} 价格`])
      expect(await say(text, { tenant: home, openId: 'ou_rep2' }), text).toMatch(/只有.*负责人|经理/);
    expect((await dealsOf(home))[0]).toMatchObject({
      status: 'open',
      ownerId: 'ou_rep',
      version: deal.version,
    });
  });
});

// ── the console's --exec path ────────────────────────────────────────────────
const root = path.resolve(import.meta.dirname, '../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');

function exec(
  locale: string,
  dataDir: string,
  commands: string[],
): Promise<{ code: number; stdout: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^(SLACK_|FEISHU_|MONGODB_URI|LOG_LEVEL|VITEST)/.test(k)) env[k] = v;
  Object.assign(env, {
    DATA_DIR: dataDir,
    MONGOMS_DISABLE_DOWNLOAD: '1',
    DEFAULT_LOCALE: locale,
    DEFAULT_TIMEZONE: 'UTC',
  });
  const args = ['src/main.ts', ...commands.flatMap((c) => ['--exec', c])];
  return new Promise((resolve) => {
    execFile(tsx, args, { cwd: root, env, timeout: 60_000 }, (err, stdout) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout });
    });
  });
}

describe('bad input through the console (--exec)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it.each([
    [
      'en',
      /is not a deal code|was not found in this workspace|Deal code is required|DealPulse commands/,
      /There is no stage “[^”]*”|matches several stages/,
      /^Duration/m,
      'Lead',
    ],
    [
      'zh-CN',
      /不是商机编号|找不到商机|需要商机编号|DealPulse/,
      /没有名为“.*”的阶段|匹配到多个阶段/,
      /^时长/m,
      '潜在客户',
    ],
  ] as const)(
    '%s: every case gets its localized error, exit code 1, nothing stored',
    async (locale, codeRe, stageRe, durationRe, stageLabel) => {
      const dir = await mkdtemp(path.join(tmpdir(), 'dp-rel-exec-'));
      dirs.push(dir);
      const commands = [
        '/deal new Target 10k Target Co',
        ...BAD_CODES.map((c) => `/deal show "${c}"`),
        ...BAD_STAGES.map((s) => `/deal advance D-1 "${s}"`),
        ...BAD_DURATIONS.map((d) => `/deal snooze D-1 "${d}"`),
        '/deal list all',
      ];
      expect(commands.length - 2).toBeGreaterThanOrEqual(26);
      const r = await exec(locale, dir, commands);
      expect(r.code).toBe(1);
      // One answer per command, separated by blank lines; the first creates D-1, the last lists.
      const out = r.stdout;
      const codeAnswers = out.match(new RegExp(codeRe.source, 'g')) ?? [];
      expect(codeAnswers.length).toBeGreaterThanOrEqual(BAD_CODES.length);
      const stageAnswers = out.match(new RegExp(stageRe.source, 'gi')) ?? [];
      expect(stageAnswers).toHaveLength(BAD_STAGES.length);
      const durationAnswers = out.match(new RegExp(durationRe.source, 'gm')) ?? [];
      expect(durationAnswers).toHaveLength(BAD_DURATIONS.length);
      // The list at the end: exactly one deal, still in its first stage, not snoozed.
      const listed = out.slice(out.lastIndexOf('D-1 Target'));
      expect(listed).toContain(stageLabel);
      expect(out.match(/• D-\d+/g)).toEqual(['• D-1']);
      expect(out).not.toMatch(/snoozed until|暂停提醒至/i);
    },
  );
});
