/**
 * End to end over HTTP: events and card callbacks posted to the adapter's
 * endpoints as Feishu sends them; the adapter answers through a local fake of the
 * open API, whose recorded calls show exactly what users see.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startFeishu, type FeishuAdapter } from '../../../src/adapters/feishu/index.js';
import type { Card, SubmitValue } from '../../../src/adapters/feishu/render.js';
import { createCore, type Core } from '../../../src/app.js';
import { configSchema } from '../../../src/config.js';
import { REDACT_PATHS, silentLogger } from '../../../src/logger.js';
import { enterWorkspace } from '../../../src/usecases/context.js';
import { dealHistory, getDeal } from '../../../src/usecases/deals.js';
import { testMongoUri, uniqueDbName } from '../../helpers/db.js';
import {
  APP_ID,
  APP_SECRET,
  ENCRYPT_KEY,
  FakeFeishu,
  TENANT,
  VERIFICATION_TOKEN,
  cardAction,
  menuEvent,
  messageEvent,
  postToBot,
  type ApiCall,
} from './fake-feishu.js';

let fake: FakeFeishu;
let core: Core;
let bot: FeishuAdapter;
let secureBot: FeishuAdapter;

const config = (extra: Record<string, string> = {}) =>
  configSchema.parse({
    FEISHU_APP_ID: APP_ID,
    FEISHU_APP_SECRET: APP_SECRET,
    FEISHU_VERIFICATION_TOKEN: VERIFICATION_TOKEN,
    FEISHU_DOMAIN: fake.url,
    FEISHU_MODE: 'http',
    PORT: '0',
    ...extra,
  });

beforeAll(async () => {
  fake = await FakeFeishu.start();
  core = await createCore({
    config: configSchema.parse({}),
    logger: silentLogger,
    uri: testMongoUri(),
    dbName: uniqueDbName('feishu_http'),
  });
  bot = await startFeishu(core, config(), silentLogger, { listen: 0, backoffMs: 1 });
  secureBot = await startFeishu(core, config({ FEISHU_ENCRYPT_KEY: ENCRYPT_KEY }), silentLogger, {
    listen: 0,
    backoffMs: 1,
  });
});

afterAll(async () => {
  await bot?.stop();
  await secureBot?.stop();
  await core?.stop();
  await fake?.close();
});

beforeEach(() => fake.clear());

/** Sends an event to the bot and waits until it has been handled. */
async function send(payload: object, adapter = bot, opts: Parameters<typeof postToBot>[2] = {}) {
  const r = await postToBot(`${adapter.url}/feishu/events`, payload, opts);
  await adapter.drain();
  return r;
}
async function click(payload: object, adapter = bot) {
  const r = await postToBot(`${adapter.url}/feishu/card`, payload);
  await adapter.drain();
  type Answer = { toast?: { type: string; content: string }; card?: { type: string; data: Card } };
  return { status: r.status, body: (r.body ? JSON.parse(r.body) : {}) as Answer };
}

const text = (card: unknown): string => JSON.stringify(card);
const only = (calls: ApiCall[]): ApiCall => {
  expect(calls).toHaveLength(1);
  return calls[0]!;
};
const ctxOf = (tenant = TENANT, openId = 'ou_alice') =>
  enterWorkspace(core.deps, { platform: 'feishu', externalWorkspaceId: tenant, userId: openId });
function submitOf(card: unknown): SubmitValue {
  const form = (card as Card).body.elements.find((e) => e.tag === 'form') as {
    elements: { form_action_type?: string; behaviors?: { value: SubmitValue }[] }[];
  };
  return form.elements.find((e) => e.form_action_type === 'submit')!.behaviors![0]!.value;
}
const field = (v: SubmitValue, name: string) => `f${v.n.indexOf(name)}`;

describe('feishu HTTP endpoints', () => {
  it('answers the console URL check with the challenge', async () => {
    const r = await postToBot(`${bot.url}/feishu/events`, {
      type: 'url_verification',
      challenge: 'abc',
      token: VERIFICATION_TOKEN,
    });
    expect(r).toEqual({ status: 200, body: '{"challenge":"abc"}' });
  });

  it('rejects events and callbacks with a wrong verification token and does nothing', async () => {
    expect((await send(messageEvent({ text: '帮助', token: 'forged' }))).status).toBe(401);
    expect((await click(cardAction({ value: { a: 'advance', v: 'x' }, token: 'forged' }))).status).toBe(401);
    expect(fake.messages()).toEqual([]);
  });

  it('404s other paths of its own server', async () => {
    expect((await fetch(`${bot.url}/slack/events`, { method: 'POST', body: '{}' })).status).toBe(404);
  });

  it('encrypted mode: a signed encrypted event is handled; bad or missing signatures and plain bodies are refused', async () => {
    const ok = await send(messageEvent({ text: '帮助', messageId: 'om_enc_1' }), secureBot, {
      encryptKey: ENCRYPT_KEY,
    });
    expect(ok.status).toBe(200);
    expect(only(fake.messages()).path).toBe('/open-apis/im/v1/messages/om_enc_1/reply');
    fake.clear();
    expect(
      (
        await send(messageEvent({ text: '帮助' }), secureBot, {
          encryptKey: ENCRYPT_KEY,
          signKey: 'wrong-key',
        })
      ).status,
    ).toBe(401);
    expect(
      (await send(messageEvent({ text: '帮助' }), secureBot, { encryptKey: ENCRYPT_KEY, unsigned: true }))
        .status,
    ).toBe(401);
    expect((await send(messageEvent({ text: '帮助' }), secureBot)).status).toBe(401);
    // Card callbacks too: the encrypted "next page" press is answered (the list goes to the user's DM).
    const tenant = 'tenant_enc';
    const card = await postToBot(
      `${secureBot.url}/feishu/card`,
      cardAction({ tenant, value: { a: 'page', v: '{}' } }),
      {
        encryptKey: ENCRYPT_KEY,
      },
    );
    expect(card.status).toBe(200);
    expect(JSON.parse(card.body)).toEqual({ toast: { type: 'info', content: '已发送' } });
    // The answer does not wait for the card to be sent: wait for the adapter's background work.
    await secureBot.drain();
    expect(only(fake.messages())).toMatchObject({
      path: '/open-apis/im/v1/messages',
      query: { receive_id_type: 'open_id' },
    });
    const forged = await postToBot(
      `${secureBot.url}/feishu/card`,
      cardAction({ tenant, value: { a: 'page', v: '{}' } }),
      {
        encryptKey: ENCRYPT_KEY,
        signKey: 'nope',
      },
    );
    expect(forged.status).toBe(401);
  });
});

let tenantSeq = 0;
/** A fresh tenant per test: deal codes start at D-1. */
const newTenant = () => `tenant_${(tenantSeq += 1)}_${Date.now().toString(36)}`;

describe('feishu commands in zh-CN', () => {
  it('help: a direct message gets the usage as a card reply, in Chinese', async () => {
    await send(messageEvent({ text: '帮助', messageId: 'om_help', tenant: newTenant() }));
    const call = only(fake.messages());
    expect(call.path).toBe('/open-apis/im/v1/messages/om_help/reply');
    expect(call.body).toMatchObject({ msg_type: 'interactive', reply_in_thread: false });
    expect(call.card).toMatchObject({ schema: '2.0' });
    expect(text(call.card)).toContain('新建');
  });

  it('new deal inline → confirmation; a redelivered event creates nothing more; replies in its thread become notes once', async () => {
    const tenant = newTenant();
    const event = messageEvent({ tenant, text: '新建 星辰科技续约 5万', messageId: 'om_new_1' });
    await send(event);
    await send(event);
    const call = only(fake.messages());
    expect(call.path).toBe('/open-apis/im/v1/messages/om_new_1/reply');
    expect(text(call.card)).toContain('星辰科技续约');
    const ctx = await ctxOf(tenant);
    const deal = await getDeal(ctx, 'D-1');
    expect(deal.ok && deal.value).toMatchObject({
      name: '星辰科技续约',
      amount: 50000,
      currency: 'CNY',
      ownerId: 'ou_alice',
    });

    const confirmationId = String(call.answer?.data?.message_id);
    fake.clear();
    const reply = messageEvent({
      tenant,
      text: '客户说下周给答复',
      rootId: confirmationId,
      messageId: 'om_reply_1',
    });
    await send(reply);
    await send({ ...reply, header: { ...reply.header, event_id: 'evt_other_delivery' } });
    expect(fake.messages()).toEqual([]);
    const history = await dealHistory(ctx, 'D-1');
    expect(history.ok && history.value.notes.map((n) => [n.text, n.authorId, n.origin])).toEqual([
      ['客户说下周给答复', 'ou_alice', 'thread'],
    ]);
  });

  it('in a group only @bot messages are commands; the @bot mention is stripped and others become user ids', async () => {
    const tenant = newTenant();
    await send(messageEvent({ tenant, chatType: 'group', chatId: 'oc_team', text: '新建 不该创建 1万' }));
    expect(fake.messages()).toEqual([]);
    await send(
      messageEvent({
        tenant,
        chatType: 'group',
        chatId: 'oc_team',
        atBot: true,
        text: '新建 云端协同 8万',
        messageId: 'om_g1',
      }),
    );
    expect(only(fake.messages()).path).toBe('/open-apis/im/v1/messages/om_g1/reply');
    fake.clear();
    await send(
      messageEvent({
        tenant,
        chatType: 'group',
        chatId: 'oc_team',
        atBot: true,
        text: '分配 D-1 @_user_2',
        mentions: [{ openId: 'ou_bob', name: 'Bob' }],
      }),
    );
    const ctx = await ctxOf(tenant);
    const deal = await getDeal(ctx, 'D-1');
    expect(deal.ok && deal.value.ownerId).toBe('ou_bob');
    expect(text(fake.messages())).toContain('<at id=ou_bob></at>');
  });

  it('a private answer in a group (not found) goes to the sender only, as an ephemeral card', async () => {
    const tenant = newTenant();
    await send(
      messageEvent({
        tenant,
        chatType: 'group',
        chatId: 'oc_team',
        atBot: true,
        text: '查看 D-99',
        openId: 'ou_carol',
      }),
    );
    const call = only(fake.messages());
    expect(call.path).toBe('/open-apis/ephemeral/v1/send');
    expect(call.body).toMatchObject({ chat_id: 'oc_team', open_id: 'ou_carol', msg_type: 'interactive' });
    expect(text(call.card)).toContain('D-99');
  });

  it('non-text messages get a hint in Chinese', async () => {
    await send(
      messageEvent({
        tenant: newTenant(),
        text: '',
        messageType: 'image',
        content: '{"image_key":"img_1"}',
        messageId: 'om_img',
      }),
    );
    expect(text(only(fake.messages()).card)).toContain('目前只支持文字消息');
  });

  it('advance: the form card, inline validation errors in the card, then the move with a confirmation', async () => {
    const tenant = newTenant();
    await send(messageEvent({ tenant, text: '新建 华东物流项目 20万' }));
    fake.clear();
    await send(messageEvent({ tenant, text: '推进 D-1', messageId: 'om_adv' }));
    const formCall = only(fake.messages());
    expect(formCall.path).toBe('/open-apis/im/v1/messages/om_adv/reply');
    const card = formCall.card as unknown as Card;
    expect(card.header?.title.content).toContain('D-1');
    const submit = submitOf(card);
    expect(submit.f).toBe('deal_advance');
    expect(submit.n).toEqual(expect.arrayContaining(['stage', 'company', 'nextStep.text']));
    const formId = String(formCall.answer?.data?.message_id);

    // Missing next step and company: the card comes back red with the messages under the fields.
    const bad = await click(
      cardAction({
        tenant,
        messageId: formId,
        value: submit,
        formValue: { [field(submit, 'stage')]: 'qualification' },
      }),
    );
    expect(bad.status).toBe(200);
    expect(bad.body.toast).toEqual({ type: 'error', content: '请修正标红的字段。' });
    expect(bad.body.card?.type).toBe('raw');
    expect(bad.body.card?.data.header?.template).toBe('red');
    expect(text(bad.body.card?.data)).toContain("<font color='red'>");
    const ctx = await ctxOf(tenant);
    expect(
      (await getDeal(ctx, 'D-1')).ok &&
        ((await getDeal(ctx, 'D-1')) as { value: { stage: string } }).value.stage,
    ).toBe('lead');

    // Resubmitted from the red card, now complete.
    const again = submitOf(bad.body.card!.data);
    const good = await click(
      cardAction({
        tenant,
        messageId: formId,
        chatId: 'oc_dm_alice',
        value: again,
        formValue: {
          [field(again, 'stage')]: 'qualification',
          [field(again, 'company')]: '华东物流',
          [field(again, 'nextStep.text')]: '约技术交流',
          [field(again, 'nextStep.due')]: '2030-01-15 +0800',
          ...(again.n.includes('checklist') ? { [field(again, 'checklist')]: ['0', '1'] } : {}),
        },
      }),
    );
    expect(good.body.toast).toEqual({ type: 'success', content: '已完成' });
    expect(text(good.body.card?.data)).toContain('资格评估');
    const moved = await getDeal(ctx, 'D-1');
    expect(moved.ok && moved.value).toMatchObject({
      stage: 'qualification',
      company: '华东物流',
      nextStep: { text: '约技术交流' },
    });

    // The replaced card is now the deal's thread: a reply under it is a note.
    fake.clear();
    await send(messageEvent({ tenant, text: '已约周三', rootId: formId }));
    const h = await dealHistory(ctx, 'D-1');
    expect(h.ok && h.value.notes.map((n) => n.text)).toContain('已约周三');
  });

  it('buttons: Lost opens the lost-reason form as a reply; submitting it closes the deal', async () => {
    const tenant = newTenant();
    await send(messageEvent({ tenant, text: '新建 南方电网试点 3万' }));
    const ctx = await ctxOf(tenant);
    const deal = await getDeal(ctx, 'D-1');
    if (!deal.ok) throw new Error('no deal');
    fake.clear();
    const press = await click(
      cardAction({ tenant, messageId: 'om_dealcard', value: { a: 'lost', v: deal.value.id } }),
    );
    expect(press.body).toEqual({});
    const formCall = only(fake.messages());
    expect(formCall.path).toBe('/open-apis/im/v1/messages/om_dealcard/reply');
    const submit = submitOf(formCall.card);
    expect(submit.f).toBe('deal_lost');
    const done = await click(
      cardAction({ tenant, value: submit, formValue: { [field(submit, 'reason')]: 'price' } }),
    );
    expect(done.body.toast?.type).toBe('success');
    expect(text(done.body.card?.data)).toContain('价格过高');
    const lost = await getDeal(ctx, 'D-1');
    expect(lost.ok && lost.value.status).toBe('lost');
  });

  it('buttons: Won posts the confirmation in the card thread for the team and toasts', async () => {
    const tenant = newTenant();
    await send(messageEvent({ tenant, text: '新建 北方重工 12万' }));
    const ctx = await ctxOf(tenant);
    const deal = await getDeal(ctx, 'D-1');
    if (!deal.ok) throw new Error('no deal');
    fake.knowMessage('om_card_won', 'oc_team');
    fake.clear();
    const press = await click(
      cardAction({
        tenant,
        messageId: 'om_card_won',
        chatId: 'oc_team',
        value: { a: 'won', v: deal.value.id },
      }),
    );
    expect(press.body.toast?.type).toBe('success');
    const call = only(fake.messages());
    expect(call.path).toBe('/open-apis/im/v1/messages/om_card_won/reply');
    expect(call.body.reply_in_thread).toBe(true);
    expect(
      (await getDeal(ctx, 'D-1')).ok &&
        ((await getDeal(ctx, 'D-1')) as { value: { status: string } }).value.status,
    ).toBe('won');
  });

  it('a callback that cannot finish within the 3 seconds gets a "working" toast at once and completes afterwards', async () => {
    const slow = await startFeishu(core, config(), silentLogger, { listen: 0, cardDeadlineMs: 0 });
    try {
      const tenant = newTenant();
      await send(messageEvent({ tenant, text: '新建 慢速网络项目 6万' }));
      const deal = await getDeal(await ctxOf(tenant), 'D-1');
      if (!deal.ok) throw new Error('no deal');
      fake.knowMessage('om_card_slow', 'oc_team');
      fake.clear();
      const release = fake.hold('/open-apis/im/v1/messages/om_card_slow/reply');
      const r = await postToBot(
        `${slow.url}/feishu/card`,
        cardAction({
          tenant,
          messageId: 'om_card_slow',
          chatId: 'oc_team',
          value: { a: 'won', v: deal.value.id },
        }),
      );
      expect(JSON.parse(r.body)).toEqual({ toast: { type: 'info', content: '正在处理…卡片稍后会更新。' } });
      release();
      await slow.drain();
      expect(only(fake.messages())).toMatchObject({
        path: '/open-apis/im/v1/messages/om_card_slow/reply',
        answer: { code: 0 },
      });
      const won = await getDeal(await ctxOf(tenant), 'D-1');
      expect(won.ok && won.value.status).toBe('won');
    } finally {
      await slow.stop();
    }
  });

  it('every other deal button: forms as replies (next step, note, snooze, edit, advance), snooze presets and show', async () => {
    const tenant = newTenant();
    await send(messageEvent({ tenant, text: '新建 全按钮测试 9万 按钮公司' }));
    const ctx = await ctxOf(tenant);
    const deal = await getDeal(ctx, 'D-1');
    if (!deal.ok) throw new Error('no deal');
    const id = deal.value.id;
    const press = async (a: string) => {
      fake.clear();
      return click(cardAction({ tenant, messageId: 'om_buttons', value: { a, v: id } }));
    };
    const formFrom = async (a: string, expected: string) => {
      expect((await press(a)).body).toEqual({});
      const call = only(fake.messages());
      expect(call.path).toBe('/open-apis/im/v1/messages/om_buttons/reply');
      const v = submitOf(call.card);
      expect(v.f).toBe(expected);
      return v;
    };

    const next = await formFrom('next_step', 'next_step');
    const nextDone = await click(
      cardAction({ tenant, value: next, formValue: { [field(next, 'nextStep.text')]: '寄送样品' } }),
    );
    expect(nextDone.body.toast?.type).toBe('success');
    expect(
      ((await getDeal(ctx, 'D-1')) as { value: { nextStep?: { text: string } } }).value.nextStep?.text,
    ).toBe('寄送样品');

    const note = await formFrom('note', 'note');
    await click(cardAction({ tenant, value: note, formValue: { [field(note, 'text')]: '按钮备注' } }));
    const h = await dealHistory(ctx, 'D-1');
    expect(h.ok && h.value.notes.map((n) => n.text)).toContain('按钮备注');

    await formFrom('snooze', 'snooze');
    await formFrom('advance', 'deal_advance');
    const edit = await formFrom('edit', 'deal_edit');
    await click(
      cardAction({
        tenant,
        value: edit,
        formValue: { [field(edit, 'name')]: '全按钮测试（改）', [field(edit, 'amount')]: '10万' },
      }),
    );
    expect(((await getDeal(ctx, 'D-1')) as { value: { name: string } }).value.name).toBe('全按钮测试（改）');

    // A one-line private answer is a toast; the snooze happened.
    const snoozed = await press('snooze_3d');
    expect(snoozed.body.toast?.type).toBe('info');
    expect(fake.messages()).toEqual([]);
    expect(
      ((await getDeal(ctx, 'D-1')) as { value: { snoozedUntil?: Date } }).value.snoozedUntil,
    ).toBeInstanceOf(Date);

    // The full deal card is private: it goes to the user's direct chat.
    const shown = await press('show');
    expect(shown.body).toEqual({ toast: { type: 'info', content: '已发送' } });
    const dm = only(fake.messages());
    expect(dm).toMatchObject({ query: { receive_id_type: 'open_id' }, body: { receive_id: 'ou_alice' } });
    expect(text(dm.card)).toContain('全按钮测试（改）');
  });

  it('a button the user may not use (a rep on someone else’s deal) answers with a red toast', async () => {
    const tenant = newTenant();
    await send(messageEvent({ tenant, text: '新建 别人的商机 4万' }));
    const deal = await getDeal(await ctxOf(tenant), 'D-1');
    if (!deal.ok) throw new Error('no deal');
    fake.clear();
    const r = await click(
      cardAction({ tenant, openId: 'ou_rep2', value: { a: 'snooze_1d', v: deal.value.id } }),
    );
    expect(r.body.toast?.type).toBe('error');
    expect(fake.messages()).toEqual([]);
    const still = await getDeal(await ctxOf(tenant), 'D-1');
    expect(still.ok && still.value.snoozedUntil).toBeFalsy();
  });

  it('a stale or foreign button value gets an error toast, nothing else', async () => {
    const r = await click(cardAction({ tenant: newTenant(), value: { a: 'rm -rf', v: 'x' } }));
    expect(r.body).toEqual({ toast: { type: 'error', content: '这张卡片已过期，请重新发送命令。' } });
    expect(fake.messages()).toEqual([]);
  });

  it('settings: the admin gets the settings form card; saving it from the card changes the workspace', async () => {
    const tenant = newTenant();
    await send(messageEvent({ tenant, text: '/pipeline settings', messageId: 'om_set' }));
    const submit = submitOf(only(fake.messages()).card);
    expect(submit.f).toBe('settings');
    // What the Feishu client sends back: every component's current value, here the defaults with a new time zone.
    const formValue: Record<string, unknown> = {};
    submit.p!.fields.forEach((f, i) => {
      if (f.initial !== undefined)
        formValue[`f${i}`] = f.kind === 'checklist' ? f.initial.split(',') : f.initial;
    });
    formValue[field(submit, 'timezone')] = 'Mars/Olympus';
    const bad = await click(cardAction({ tenant, value: submit, formValue }));
    expect(bad.body.toast?.type).toBe('error');
    expect(text(bad.body.card?.data)).toContain('Mars/Olympus');
    formValue[field(submit, 'timezone')] = 'Asia/Shanghai';
    const ok = await click(cardAction({ tenant, value: submitOf(bad.body.card!.data), formValue }));
    expect(ok.body.toast).toEqual({ type: 'success', content: '已完成' });
    expect((await ctxOf(tenant)).workspace.settings.timezone).toBe('Asia/Shanghai');
    // A rep (not a manager) is told so.
    fake.clear();
    await send(messageEvent({ tenant, openId: 'ou_rep', text: '漏斗 设置' }));
    expect(text(only(fake.messages()).card)).not.toContain('"form"');
  });

  it('new deal without an amount opens the new-deal form; submitting it creates the deal', async () => {
    const tenant = newTenant();
    await send(messageEvent({ tenant, text: '新建', messageId: 'om_nd' }));
    const submit = submitOf(only(fake.messages()).card);
    expect(submit.f).toBe('deal_new');
    const r = await click(
      cardAction({
        tenant,
        value: submit,
        formValue: { [field(submit, 'name')]: '西部数据中心', [field(submit, 'amount')]: '1.5亿' },
      }),
    );
    expect(r.body.toast?.type).toBe('success');
    const deal = await getDeal(await ctxOf(tenant), 'D-1');
    expect(deal.ok && deal.value).toMatchObject({ name: '西部数据中心', amount: 150_000_000 });
  });
});

describe('every command in Chinese, through a direct chat', () => {
  const tenant = `tenant_all_${Date.now().toString(36)}`;
  beforeAll(async () => {
    await send(messageEvent({ tenant, text: '新建 测试商机甲 5万 甲公司' }));
    await send(messageEvent({ tenant, text: '新建 测试商机乙 8万 乙公司' }));
  });

  /** Sends one command; returns the single card the bot answered with. */
  async function command(line: string): Promise<{ card: Card; json: string }> {
    fake.clear();
    await send(messageEvent({ tenant, text: line }));
    const call = only(fake.messages());
    expect(call.answer?.code).toBe(0);
    const json = JSON.stringify(call.card);
    expect(json).not.toContain('系统出错');
    return { card: call.card as unknown as Card, json };
  }

  it.each([
    ['列表', '测试商机甲'],
    ['查看 D-1', '"a":"advance"'],
    ['漏斗', '潜在客户'],
    ['/pipeline', '潜在客户'],
    ['停滞', ''],
    ['预测', ''],
    ['周报', ''],
    ['/deal', '新建'],
    ['胡说八道', '新建'],
  ])('%s answers with a card', async (line, expected) => {
    const { card, json } = await command(line);
    expect(card.schema).toBe('2.0');
    expect(json).toContain(expected);
  });

  it.each([
    ['推进 D-1 谈判', 'deal_advance'],
    ['编辑 D-1', 'deal_edit'],
    ['输单 D-2', 'deal_lost'],
    ['漏斗 设置', 'settings'],
  ])('%s opens the %s form card', async (line, form) => {
    const { card } = await command(line);
    expect(submitOf(card).f).toBe(form);
  });

  it('备注, 暂停, 下一步, 赢单 and 重开 change the deal', async () => {
    const ctx = await ctxOf(tenant);
    await command('备注 D-1 客户很满意');
    const h = await dealHistory(ctx, 'D-1');
    expect(h.ok && h.value.notes.map((n) => n.text)).toContain('客户很满意');

    await command('暂停 D-1 3天');
    const snoozed = await getDeal(ctx, 'D-1');
    expect(snoozed.ok && snoozed.value.snoozedUntil).toBeInstanceOf(Date);

    await command('下一步 D-1 发送报价单');
    const next = await getDeal(ctx, 'D-1');
    expect(next.ok && next.value.nextStep?.text).toContain('发送报价单');

    const won = await command('赢单 D-1');
    expect(won.json).toContain('D-1');
    expect(((await getDeal(ctx, 'D-1')) as { value: { status: string } }).value.status).toBe('won');

    await command('重开 D-1');
    expect(((await getDeal(ctx, 'D-1')) as { value: { status: string } }).value.status).toBe('open');
  });
});

describe('feishu bot menu', () => {
  it('a menu click runs its command and answers in the user’s direct chat; unknown keys do nothing', async () => {
    const tenant = newTenant();
    await send(menuEvent({ tenant, eventKey: 'deal_new' }));
    const call = only(fake.messages());
    expect(call).toMatchObject({
      path: '/open-apis/im/v1/messages',
      query: { receive_id_type: 'open_id' },
      body: { receive_id: 'ou_alice' },
    });
    expect(submitOf(call.card).f).toBe('deal_new');
    fake.clear();
    await send(menuEvent({ tenant, eventKey: 'pipeline_review' }));
    expect(only(fake.messages()).query).toEqual({ receive_id_type: 'open_id' });
    fake.clear();
    await send(menuEvent({ tenant, eventKey: 'drop_tables' }));
    expect(fake.messages()).toEqual([]);
  });
});

describe('feishu API reliability', () => {
  it('retries rate-limited calls (code 99991400 and HTTP 429) and then succeeds', async () => {
    fake.failNext('/open-apis/im/v1/messages/om_rl/reply', { code: 99991400, times: 1 });
    fake.failNext('/open-apis/im/v1/messages/om_rl/reply', { status: 429, code: 99991400, times: 1 });
    await send(messageEvent({ tenant: newTenant(), text: '帮助', messageId: 'om_rl' }));
    expect(fake.messages().map((c) => c.answer?.code)).toEqual([99991400, 99991400, 0]);
  });

  it('a business error (code != 0) is not retried and does not break the next request', async () => {
    fake.failNext('/open-apis/im/v1/messages/om_be/reply', { code: 230002, times: 5 });
    await send(messageEvent({ tenant: newTenant(), text: '帮助', messageId: 'om_be' }));
    // The reply failed; the adapter tried once more to report an error, also refused.
    expect(fake.messages().map((c) => c.answer?.code)).toEqual([230002, 230002]);
    fake.clear();
    await send(messageEvent({ tenant: newTenant(), text: '帮助', messageId: 'om_ok' }));
    expect(only(fake.messages()).answer?.code).toBe(0);
  });
});

describe('feishu logs', () => {
  it('never contain the app secret, the verification token, the encrypt key or tenant tokens', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'debug', redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
      { write: (l: string) => void lines.push(l) },
    );
    const noisy = await startFeishu(core, config({ FEISHU_ENCRYPT_KEY: ENCRYPT_KEY }), logger, {
      listen: 0,
      backoffMs: 1,
    });
    try {
      await postToBot(`${noisy.url}/feishu/events`, messageEvent({ text: '帮助' }), {
        encryptKey: ENCRYPT_KEY,
        signKey: 'x',
      });
      fake.failNext('/open-apis/im/v1/messages/om_log/reply', { status: 429, code: 99991400, times: 1 });
      fake.failNext('/open-apis/im/v1/messages/om_log/reply', { status: 400, code: 230001, times: 2 });
      await postToBot(
        `${noisy.url}/feishu/events`,
        messageEvent({ tenant: newTenant(), text: '帮助', messageId: 'om_log' }),
        { encryptKey: ENCRYPT_KEY },
      );
      await noisy.drain();
    } finally {
      await noisy.stop();
    }
    const log = lines.join('');
    expect(log).toContain('request rejected');
    expect(log).toContain('rate limited');
    expect(log).toContain('230001');
    for (const secret of [APP_SECRET, VERIFICATION_TOKEN, ENCRYPT_KEY]) expect(log).not.toContain(secret);
    expect(log).not.toMatch(/t-[0-9a-f]{8}-[0-9a-f]{4}/);
  });
});

describe('external groups', () => {
  it('ignores messages and card clicks from users of another company (tenant)', async () => {
    const event = messageEvent({ text: '列表 全部', atBot: true });
    event.event.sender.tenant_key = 'tenant_other_company';
    expect((await send(event)).status).toBe(200);
    expect(fake.messages()).toEqual([]);
    const action = cardAction({ value: { a: 'page', v: '{"a":"all","p":0}' }, openId: 'ou_outsider' }) as {
      event: { operator: { tenant_key?: string } };
    };
    action.event.operator.tenant_key = 'tenant_other_company';
    const answer = await click(action);
    expect(answer.body.toast?.type).toBe('error');
    expect(answer.body.card).toBeUndefined();
    // the outsider never became a member of this tenant's workspace
    expect(await core.deps.store.getMember('feishu:tenant_acme', 'ou_outsider')).toBeUndefined();
    expect(fake.messages()).toEqual([]);
  });
});
