/**
 * The Feishu notifier as the scheduler uses it: stall alerts, rule notifications
 * and digests (with a chart) as cards; thread replies and card updates; the alert
 * as the thread whose replies become notes.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FeishuApiError } from '../../../src/adapters/feishu/api.js';
import { startFeishu, type FeishuAdapter } from '../../../src/adapters/feishu/index.js';
import { createCore, type Core } from '../../../src/app.js';
import { funnelChart } from '../../../src/charts/index.js';
import { configSchema } from '../../../src/config.js';
import { silentLogger } from '../../../src/logger.js';
import {
  alertMessage,
  digestFallbackMessage,
  resolutionReply,
  resolvedAlertMessage,
  ruleNotifyMessage,
} from '../../../src/presenters/alerts.js';
import { presetRules } from '../../../src/domain/settings.js';
import type { Deal } from '../../../src/domain/types.js';
import { enterWorkspace, systemContext, type Ctx } from '../../../src/usecases/context.js';
import { createDeal, dealHistory, rememberThread } from '../../../src/usecases/deals.js';
import { testMongoUri, uniqueDbName } from '../../helpers/db.js';
import {
  APP_ID,
  APP_SECRET,
  FakeFeishu,
  TENANT,
  VERIFICATION_TOKEN,
  messageEvent,
  postToBot,
} from './fake-feishu.js';

let fake: FakeFeishu;
let core: Core;
let bot: FeishuAdapter;
let ctx: Ctx;
let deal: Deal;

beforeAll(async () => {
  fake = await FakeFeishu.start();
  core = await createCore({
    config: configSchema.parse({}),
    logger: silentLogger,
    uri: testMongoUri(),
    dbName: uniqueDbName('feishu_notify'),
  });
  const config = configSchema.parse({
    FEISHU_APP_ID: APP_ID,
    FEISHU_APP_SECRET: APP_SECRET,
    FEISHU_VERIFICATION_TOKEN: VERIFICATION_TOKEN,
    FEISHU_DOMAIN: fake.url,
    FEISHU_MODE: 'http',
  });
  bot = await startFeishu(core, config, silentLogger, { listen: 0, backoffMs: 1 });
  ctx = await enterWorkspace(core.deps, {
    platform: 'feishu',
    externalWorkspaceId: TENANT,
    userId: 'ou_alice',
  });
  const r = await createDeal(ctx, {
    name: '<at id=all></at> 星辰 *续约*',
    amount: '5万',
    company: '星辰科技',
  });
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  deal = r.value.deal;
});

afterAll(async () => {
  await bot?.stop();
  await core?.stop();
  await fake?.close();
});

beforeEach(() => fake.clear());

const json = (v: unknown) => JSON.stringify(v);

describe('feishu notifier', () => {
  it('is the registered notifier of Feishu workspaces', () => {
    expect(core.notifiers.for(ctx.workspace)).toBe(bot.notifier);
  });

  it('posts a stall alert card with the deal buttons to the alert chat; replies in its thread become notes', async () => {
    const s = ctx.workspace.settings;
    const notifier = core.notifiers.for(ctx.workspace)!;
    const ref = await notifier.post(
      ctx.workspace,
      { channel: 'oc_sales' },
      alertMessage(deal, s, 'zh-CN', new Date()),
    );
    const [call] = fake.messages();
    expect(call).toMatchObject({
      path: '/open-apis/im/v1/messages',
      query: { receive_id_type: 'chat_id' },
      body: { receive_id: 'oc_sales', msg_type: 'interactive' },
    });
    expect(ref).toEqual({ channel: 'oc_sales', id: call!.answer!.data!.message_id });
    const card = json(call!.card);
    expect(card).toContain('"schema":"2.0"');
    expect(card).toContain('<at id=ou_alice></at>');
    // The deal's name is shown literally in the plain-text title; no markdown element can mention everyone.
    expect((call!.card as { header: unknown }).header).toEqual({
      title: { tag: 'plain_text', content: '停滞商机：D-1 <at id=all></at> 星辰 *续约*' },
      template: 'blue',
    });
    const markdown = (
      call!.card as { body: { elements: { tag: string; content?: string }[] } }
    ).body.elements.filter((e) => e.tag === 'markdown');
    expect(markdown.length).toBeGreaterThan(1);
    for (const m of markdown) expect(m.content).not.toContain('<at id=all');
    expect(card).toContain(`"value":{"a":"advance","v":"${deal.id}"}`);

    // The scheduler links the alert to the deal; a reply in its thread is a note.
    await rememberThread(systemContext(core.deps, ctx.workspace), ref, deal.id, 'alert');
    await postToBot(
      `${bot.url}/feishu/events`,
      messageEvent({ chatType: 'group', chatId: 'oc_sales', rootId: ref.id, text: '已电话跟进，周五给报价' }),
    );
    await bot.drain();
    const h = await dealHistory(ctx, deal.code);
    expect(h.ok && h.value.notes.map((n) => [n.text, n.origin])).toContainEqual([
      '已电话跟进，周五给报价',
      'thread',
    ]);

    // Resolution: a reply in the alert thread, then the alert card is updated in place without buttons.
    fake.clear();
    const reply = await notifier.reply(
      ctx.workspace,
      ref,
      resolutionReply(deal, s, 'zh-CN', 'moved', 'ou_alice'),
    );
    await notifier.update(
      ctx.workspace,
      ref,
      resolvedAlertMessage(deal, s, 'zh-CN', 'moved', 'ou_alice', new Date()),
    );
    const [r1, r2] = fake.messages();
    expect(r1).toMatchObject({
      path: `/open-apis/im/v1/messages/${ref.id}/reply`,
      body: { msg_type: 'interactive', reply_in_thread: true },
    });
    expect(reply).toEqual({ channel: 'oc_sales', id: r1!.answer!.data!.message_id });
    expect(r2).toMatchObject({ method: 'PATCH', path: `/open-apis/im/v1/messages/${ref.id}` });
    expect(json(r2!.card)).not.toContain('"tag":"button"');
  });

  it('sends rule notifications and DMs to a user by open_id', async () => {
    const rule = presetRules()[0]!;
    const message = ruleNotifyMessage(
      rule,
      '{deal} 需要 {owner} 关注',
      deal,
      ctx.workspace.settings,
      'zh-CN',
      new Date(),
    );
    const ref = await bot.notifier.post(ctx.workspace, { user: 'ou_alice' }, message);
    const [call] = fake.messages();
    expect(call).toMatchObject({ query: { receive_id_type: 'open_id' }, body: { receive_id: 'ou_alice' } });
    expect(ref.channel).toBe('oc_dm_ou_alice');
    const card = json(call!.card);
    expect(card).toContain('Proposal &gt; 5 days');
    // The template's {owner} is a real mention; the deal name's fake mention is escaped text.
    expect(card).toContain(
      'D-1 &lt;at id=all&gt;&lt;/at&gt; 星辰 &#42;续约&#42; 需要 <at id=ou_alice></at> 关注',
    );
  });

  it('posts a digest with the funnel chart uploaded through im.image.create and shown as an img element', async () => {
    const chart = await funnelChart({
      locale: 'zh-CN',
      currency: 'CNY',
      stages: [
        { key: 'lead', label: '潜在客户', count: 4, value: 200000, conversionToNext: 0.5 },
        { key: 'proposal', label: '方案/报价', count: 2, value: 100000, conversionToNext: null },
      ],
    });
    const digest = digestFallbackMessage(
      {
        period: '本周',
        currency: 'CNY',
        open: 6,
        value: 300000,
        stalled: [deal],
        reps: [{ userId: 'ou_alice', open: 6, value: 300000, stalled: 1 }],
      },
      ctx.workspace.settings,
      'zh-CN',
      new Date(),
    );
    const ref = await bot.notifier.post(
      ctx.workspace,
      { channel: 'oc_sales' },
      { ...digest, blocks: [...digest.blocks, { type: 'image', image: chart }] },
    );
    const upload = fake.calls.find((c) => c.path === '/open-apis/im/v1/images')!;
    expect(upload.body).toMatchObject({
      image_type: 'message',
      filename: chart.filename,
      bytes: chart.png.length,
    });
    const imageKey = upload.answer!.data!.image_key;
    const post = fake.messages()[0]!;
    expect(ref.id).toBe(post.answer!.data!.message_id);
    const img = (post.card as { body: { elements: Record<string, unknown>[] } }).body.elements.find(
      (e) => e.tag === 'img',
    );
    expect(img).toEqual({
      tag: 'img',
      img_key: imageKey,
      alt: { tag: 'plain_text', content: chart.altText.slice(0, 500) },
      title: { tag: 'plain_text', content: chart.title },
      scale_type: 'fit_horizontal',
      preview: true,
    });
    expect(json(post.card)).toContain('本周');
  });

  it('fails loudly with Feishu’s code when an upload is refused', async () => {
    fake.failNext('/open-apis/im/v1/images', { code: 234001 });
    const image = {
      png: Buffer.from([1, 2, 3]),
      width: 1,
      height: 1,
      altText: 'a',
      title: 't',
      filename: 'x.png',
    };
    const err = await bot.notifier
      .post(ctx.workspace, { channel: 'oc_sales' }, { summary: 's', blocks: [{ type: 'image', image }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FeishuApiError);
    expect(err).toMatchObject({ op: 'im.image.create', code: 234001 });
    expect(fake.messages()).toEqual([]);
  });
});
