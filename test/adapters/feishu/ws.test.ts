/**
 * The long connection (default mode) against a local fake of Feishu's endpoint
 * and WebSocket, speaking the SDK's protobuf frames: events and card callbacks
 * arrive as `event` frames and the adapter's answer goes back in the frame.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFeishu, type FeishuAdapter } from '../../../src/adapters/feishu/index.js';
import type { SubmitValue } from '../../../src/adapters/feishu/render.js';
import { createCore, type Core } from '../../../src/app.js';
import { configSchema } from '../../../src/config.js';
import { silentLogger } from '../../../src/logger.js';
import { enterWorkspace } from '../../../src/usecases/context.js';
import { getDeal } from '../../../src/usecases/deals.js';
import { testMongoUri, uniqueDbName } from '../../helpers/db.js';
import { APP_ID, APP_SECRET, FakeFeishu, TENANT, cardAction, messageEvent } from './fake-feishu.js';

let fake: FakeFeishu;
let core: Core;
let bot: FeishuAdapter;

const config = (secret = APP_SECRET) =>
  configSchema.parse({ FEISHU_APP_ID: APP_ID, FEISHU_APP_SECRET: secret, FEISHU_DOMAIN: fake.url });

beforeAll(async () => {
  fake = await FakeFeishu.start();
  core = await createCore({
    config: configSchema.parse({}),
    logger: silentLogger,
    uri: testMongoUri(),
    dbName: uniqueDbName('feishu_ws'),
  });
  bot = await startFeishu(core, config(), silentLogger, { backoffMs: 1 });
});

afterAll(async () => {
  await bot?.stop();
  await core?.stop();
  await fake?.close();
});

beforeEach(() => fake.clear());

describe('feishu long connection', () => {
  it('connects with the app credentials (default mode, no HTTP endpoint)', () => {
    expect(config().FEISHU_MODE).toBe('ws');
    expect(fake.wsConnects).toBe(1);
    expect(fake.connected).toBe(1);
    expect(bot.handler).toBeUndefined();
  });

  it('handles a message event frame, acknowledges it in the frame, and drops the redelivery', async () => {
    const event = messageEvent({ text: '新建 长连接测试 2万', messageId: 'om_ws_1' });
    expect(await fake.pushEvent(event)).toEqual({ code: 200, data: {} });
    expect(await fake.pushEvent(event)).toEqual({ code: 200, data: {} });
    await bot.drain();
    const replies = fake.messages();
    expect(replies).toHaveLength(1);
    expect(replies[0]!.path).toBe('/open-apis/im/v1/messages/om_ws_1/reply');
    expect(JSON.stringify(replies[0]!.card)).toContain('长连接测试');
  });

  it('reassembles an event split over several frames', async () => {
    await fake.pushEvent(messageEvent({ text: '帮助', messageId: 'om_ws_frag' }), 3);
    await bot.drain();
    expect(fake.messages().map((c) => c.path)).toEqual(['/open-apis/im/v1/messages/om_ws_frag/reply']);
  });

  it('answers a card form submission in the response frame with the toast and the new card', async () => {
    await fake.pushEvent(messageEvent({ text: '新建', messageId: 'om_ws_form' }));
    await bot.drain();
    const form = fake.messages()[0]!.card as {
      body: {
        elements: {
          tag: string;
          elements?: { form_action_type?: string; behaviors?: { value: SubmitValue }[] }[];
        }[];
      };
    };
    const submit = form.body.elements
      .find((e) => e.tag === 'form')!
      .elements!.find((e) => e.form_action_type === 'submit')!.behaviors![0]!.value;
    const f = (name: string) => `f${submit.n.indexOf(name)}`;

    const bad = await fake.pushEvent(
      cardAction({ value: submit, formValue: { [f('name')]: '长连接表单', [f('amount')]: '很多' } }),
    );
    expect(bad.code).toBe(200);
    expect(bad.data).toMatchObject({
      toast: { type: 'error', content: '请修正标红的字段。' },
      card: { type: 'raw' },
    });
    expect(JSON.stringify(bad.data)).toContain("<font color='red'>");

    const good = await fake.pushEvent(
      cardAction({ value: submit, formValue: { [f('name')]: '长连接表单', [f('amount')]: '3万' } }),
    );
    expect(good.data).toMatchObject({
      toast: { type: 'success', content: '已完成' },
      card: { type: 'raw', data: { schema: '2.0' } },
    });
    const ctx = await enterWorkspace(core.deps, {
      platform: 'feishu',
      externalWorkspaceId: TENANT,
      userId: 'ou_alice',
    });
    const deals = await Promise.all(['D-1', 'D-2'].map((c) => getDeal(ctx, c)));
    expect(deals.map((d) => d.ok && d.value.name)).toEqual(['长连接测试', '长连接表单']);
  });

  it('refuses to start with credentials Feishu rejects', async () => {
    await expect(startFeishu(core, config('wrong-secret'), silentLogger)).rejects.toThrow(/code=514/);
  });
});
