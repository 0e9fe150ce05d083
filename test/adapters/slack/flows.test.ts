/**
 * End-to-end flows through Bolt's HTTP receiver against the fake Slack: every
 * command, every card button, modals and their validation, threads, shortcut,
 * App Home, escaping, languages, permissions and tenancy.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { input, type ApiCall, type Json } from './fake-slack.js';
import { limitProblems, startHarness, visibleText, type Harness } from './harness.js';

let h: Harness;
const WS = 'slack:T1';
const admin = { user: 'UADMIN' };
const rep = { user: 'UREP1' };
const rep2 = { user: 'UREP2' };

const logLines: string[] = [];
const logger = pino({ level: 'info' }, { write: (line: string) => void logLines.push(line) });

beforeAll(async () => {
  h = await startHarness({ db: 'slack_flows', logger });
  h.fake.users.set('UADMIN', { id: 'UADMIN', name: 'Ada' });
  h.fake.users.set('UREP1', { id: 'UREP1', name: 'Rui' });
  h.fake.users.set('UREP2', { id: 'UREP2', name: 'Ren' });
  h.fake.users.set('UZH', { id: 'UZH', name: '王伟', locale: 'zh-CN' });
  // The first member of a workspace is its admin.
  await h.sim.command('/deal', 'help', admin);
  await h.fake.nextResponse(1);
});
afterAll(async () => {
  await h?.stop();
});
beforeEach(() => {
  expect(limitProblems(h.fake)).toEqual([]);
  h.fake.reset();
});

const deals = async () => (await h.core.deps.store.listDeals(WS, {}, { limit: 100 })).deals;
const dealByName = async (name: string) => (await deals()).find((d) => d.name === name)!;

type Block = { type: string; block_id?: string; elements?: { action_id: string; value: string }[] };
const buttons = (payload: Json) =>
  ((payload.blocks as Block[]) ?? [])
    .filter((b) => b.type === 'actions')
    .flatMap((b) => b.elements!.map((e) => e.action_id));

async function newDeal(text: string, who = rep): Promise<ApiCall> {
  const n = h.fake.callsTo('chat.postMessage').length + 1;
  await h.sim.command('/deal', `new ${text}`, who);
  return h.fake.nextCall('chat.postMessage', n);
}

async function openModalBy(send: () => Promise<unknown>): Promise<Json> {
  const n = h.fake.callsTo('views.open').length + 1;
  await send();
  return (await h.fake.nextCall('views.open', n)).args.view as Json;
}

describe('/deal new', () => {
  it('without details opens the new-deal modal; invalid input shows inline errors and saves nothing', async () => {
    const view = await openModalBy(() => h.sim.command('/deal', 'new', rep));
    expect(view.callback_id).toBe('dp:form:deal_new');
    expect(JSON.parse(String(view.private_metadata)).c).toBe('C1');
    const before = (await deals()).length;
    const res = await h.sim.viewSubmission(rep, view, {
      name: input.text('Globex expansion'),
      amount: input.text('lots'),
      stage: input.select('lead'),
      owner: input.user('UREP1'),
    });
    expect(res.status).toBe(200);
    const body = res.json();
    expect(body.response_action).toBe('errors');
    expect(Object.keys(body.errors as Json)).toEqual(['amount']);
    expect(String((body.errors as Json).amount)).toContain('“lots” is not an amount');
    expect((await deals()).length).toBe(before);
    expect(h.fake.callsTo('chat.postMessage')).toEqual([]);
  });

  it('a valid submission closes the modal and posts the confirmation in the channel; a double submit creates one deal', async () => {
    const view = await openModalBy(() => h.sim.command('/deal', 'new', rep));
    const state = {
      name: input.text('Initech pilot'),
      amount: input.text('20k'),
      company: input.text('Initech'),
      stage: input.select('lead'),
      owner: input.user('UREP1'),
    };
    const first = await h.sim.viewSubmission(rep, view, state, 'VDOUBLE');
    expect(first.status).toBe(200);
    expect(first.text).toBe('');
    const post = await h.fake.nextCall('chat.postMessage');
    expect(post.args.channel).toBe('C1');
    expect(visibleText(post.args)).toContain('Initech pilot');
    const again = await h.sim.viewSubmission(rep, view, state, 'VDOUBLE');
    expect(again.text).toBe('');
    // A later command proves the repeat was fully handled before we count.
    await h.sim.command('/deal', 'help', rep);
    await h.fake.nextResponse();
    expect(h.fake.callsTo('chat.postMessage')).toHaveLength(1);
    expect((await deals()).filter((d) => d.name === 'Initech pilot')).toHaveLength(1);
  });

  it('a redelivered command (same trigger id, X-Slack-Retry-Num) creates one deal and posts once', async () => {
    await h.sim.command('/deal', 'new Retry deal 6k', rep, { triggerId: 'trig-retry-1' });
    await h.fake.nextCall('chat.postMessage');
    await h.sim.command('/deal', 'new Retry deal 6k', rep, { triggerId: 'trig-retry-1', retryNum: 1 });
    await h.sim.command('/deal', 'help', rep);
    await h.fake.nextResponse();
    expect(h.fake.callsTo('chat.postMessage')).toHaveLength(1);
    expect((await deals()).filter((d) => d.name === 'Retry deal')).toHaveLength(1);
  });

  it('escapes user text: a deal named <!channel> or <@U123> pings no one', async () => {
    // Slack escapes &, < and > in command text.
    const post = await newDeal('&lt;!channel&gt; &amp; &lt;@U123&gt; 50k');
    // mrkdwn is parsed for mentions; plain_text (the header) never is.
    const mrkdwnTexts = JSON.stringify(post.args.blocks).match(/"type":"mrkdwn","text":"[^"]*"/g) ?? [];
    expect(mrkdwnTexts.length).toBeGreaterThan(0);
    for (const m of mrkdwnTexts) {
      expect(m).not.toContain('<!channel>');
      expect(m).not.toContain('<@U123>');
    }
    expect(visibleText(post.args)).toContain('&lt;!channel&gt; &amp; &lt;@U123&gt;');
    expect(String(post.args.text)).not.toContain('<!');
    expect((await deals()).some((d) => d.name === '<!channel> & <@U123>')).toBe(true);
  });
});

describe('deal cards and buttons', () => {
  it('/deal show renders the card with Advance, Next step, Note, Snooze and Lost buttons', async () => {
    await newDeal('Umbrella renewal 80k Umbrella');
    const deal = await dealByName('Umbrella renewal');
    await h.sim.command('/deal', `show ${deal.code}`, rep);
    const card = await h.fake.nextResponse();
    expect(card.body.response_type).toBe('ephemeral');
    const text = visibleText(card.body);
    expect(text).toContain('Umbrella renewal');
    expect(text).toContain('$80,000');
    expect(buttons(card.body)).toEqual(
      expect.arrayContaining(['dp:advance', 'dp:next_step', 'dp:note', 'dp:snooze', 'dp:lost']),
    );
  });

  it('each card button opens its modal, like the commands', async () => {
    await newDeal('Stark deal 10k');
    const deal = await dealByName('Stark deal');
    const expected: Record<string, string> = {
      'dp:advance': 'dp:form:deal_advance',
      'dp:next_step': 'dp:form:next_step',
      'dp:note': 'dp:form:note',
      'dp:snooze': 'dp:form:snooze',
      'dp:lost': 'dp:form:deal_lost',
      'dp:edit': 'dp:form:deal_edit',
    };
    for (const [actionId, callback] of Object.entries(expected)) {
      const view = await openModalBy(() => h.sim.blockAction(rep, { action_id: actionId, value: deal.id }));
      expect(view.callback_id, actionId).toBe(callback);
    }
  });

  it('advance: the modal requires a next step; a valid submit moves the deal and posts in the channel', async () => {
    await newDeal('Wayne upgrade 30k');
    const deal = await dealByName('Wayne upgrade');
    const view = await openModalBy(() => h.sim.command('/deal', `advance ${deal.code}`, rep));
    expect(view.callback_id).toBe('dp:form:deal_advance');
    const missing = await h.sim.viewSubmission(rep, view, {
      stage: input.select('qualification'),
      'nextStep.text': input.text(''),
      'nextStep.due': input.date(null),
    });
    expect(missing.json().response_action).toBe('errors');
    expect(Object.keys(missing.json().errors as Json)).toContain('nextStep.text');
    expect((await dealByName('Wayne upgrade')).stage).toBe('lead');
    // Qualification requires a company: the error sits on that field.
    const noCompany = await h.sim.viewSubmission(rep, view, {
      stage: input.select('qualification'),
      'nextStep.text': input.text('Call the CFO'),
      'nextStep.due': input.date(null),
    });
    expect(noCompany.json()).toEqual({
      response_action: 'errors',
      errors: { company: 'To enter Qualification, fill in: Company.' },
    });
    const ok = await h.sim.viewSubmission(rep, view, {
      stage: input.select('qualification'),
      company: input.text('Wayne Corp'),
      'nextStep.text': input.text('Call the CFO'),
      'nextStep.due': input.date(null),
    });
    expect(ok.text).toBe('');
    const post = await h.fake.nextCall('chat.postMessage');
    expect(visibleText(post.args)).toMatch(/moved/);
    expect((await dealByName('Wayne upgrade')).stage).toBe('qualification');
  });

  it('snooze quick buttons, won and lost with a reason from commands', async () => {
    await newDeal('Cyberdyne 40k');
    const deal = await dealByName('Cyberdyne');
    await h.sim.blockAction(rep, { action_id: 'dp:snooze_3d', value: deal.id });
    const snoozed = await h.fake.nextResponse();
    expect(visibleText(snoozed.body)).toContain('snoozed until');
    await h.sim.command('/deal', `lost ${deal.code} budget`, rep);
    const lost = await h.fake.nextCall('chat.postMessage');
    expect(visibleText(lost.args)).toContain('closed as lost');
    expect((await dealByName('Cyberdyne')).status).toBe('lost');
  });

  it('/deal lost without a reason opens the lost modal', async () => {
    await newDeal('Tyrell 5k');
    const deal = await dealByName('Tyrell');
    const view = await openModalBy(() => h.sim.command('/deal', `lost ${deal.code}`, rep));
    expect(view.callback_id).toBe('dp:form:deal_lost');
  });

  it('list paginates with buttons; a page button replaces the ephemeral list', async () => {
    for (let i = 0; i < 11; i++) await newDeal(`Bulk ${i} 1k`, rep2);
    await h.sim.command('/deal', 'list', rep2);
    const list = await h.fake.nextResponse();
    expect(buttons(list.body)).toEqual(['dp:page']);
    const value = (list.body.blocks as Block[]).find((b) => b.type === 'actions')!.elements![0]!.value;
    await h.sim.blockAction(
      rep2,
      { action_id: 'dp:page', value },
      { container: { type: 'message', message_ts: '1.2', channel_id: 'C1', is_ephemeral: true } },
    );
    const page2 = await h.fake.nextResponse();
    expect(page2.body.replace_original).toBe(true);
    expect(visibleText(page2.body)).toContain('Page 2 of 2');
  });
});

describe('errors, permissions, languages and tenancy', () => {
  it('unknown subcommand answers with help', async () => {
    await h.sim.command('/deal', 'frobnicate', rep);
    const r = await h.fake.nextResponse();
    expect(visibleText(r.body)).toContain('frobnicate');
    expect(visibleText(r.body)).toContain('/deal new');
  });

  it('unknown deal code → not found with close matches', async () => {
    await newDeal('Near match 1k');
    await h.sim.command('/deal', 'show D-999', rep);
    const r = await h.fake.nextResponse();
    expect(r.body.response_type).toBe('ephemeral');
    expect(visibleText(r.body)).toMatch(/D-999 was not found/);
  });

  it('a rep cannot close another rep’s deal or reopen deals: a clear ephemeral message', async () => {
    await newDeal('Owned by rep1 9k', rep);
    const deal = await dealByName('Owned by rep1');
    await h.sim.command('/deal', `won ${deal.code}`, rep2);
    const r = await h.fake.nextResponse();
    expect(r.body.response_type).toBe('ephemeral');
    expect(visibleText(r.body)).toContain('Only the deal’s owner or a manager');
    expect((await dealByName('Owned by rep1')).status).toBe('open');
  });

  it('speaks the user’s Slack language (zh-CN)', async () => {
    await h.sim.command('/deal', 'help', { user: 'UZH' });
    const r = await h.fake.nextResponse();
    expect(visibleText(r.body)).toMatch(/[\u4e00-\u9fff]/);
    const view = await openModalBy(() => h.sim.command('/deal', '新建', { user: 'UZH' }));
    expect((view.close as Json).text).toBe('取消');
  });

  it('another Slack workspace sees none of these deals', async () => {
    await newDeal('Tenant one secret 7k');
    const deal = await dealByName('Tenant one secret');
    await h.sim.command('/deal', `show ${deal.code}`, { user: 'UOTHER', team: 'T9' });
    const r = await h.fake.nextResponse();
    expect(visibleText(r.body)).not.toContain('Tenant one secret');
    expect(visibleText(r.body)).toContain('not found');
  });

  it('an unexpected failure becomes an ephemeral apology with an error id', async () => {
    h.fake.on('views.open', () => ({ ok: false, error: 'internal_error' }));
    try {
      await h.sim.command('/deal', 'new', rep);
      const r = await h.fake.nextResponse();
      expect(r.body.response_type).toBe('ephemeral');
      const id = /Error id: ([0-9a-f]{8})/.exec(visibleText(r.body))?.[1];
      expect(visibleText(r.body)).toContain('Sorry, something went wrong');
      expect(id).toBeTruthy();
      // The same id is in the log line, next to the cause.
      const line = logLines.map((l) => JSON.parse(l) as Json).find((l) => l.errorId === id);
      expect(line).toMatchObject({ msg: 'unexpected error' });
      expect(JSON.stringify(line)).toContain('internal_error');
      expect(logLines.join('\n')).not.toContain('xoxb-test');
    } finally {
      h.fake.on('views.open', (args) => ({ ok: true, view: { id: 'V1', ...(args.view as Json) } }));
    }
  });

  it('when the bot is not in the channel the user still sees the result with how to invite it', async () => {
    h.fake.notInChannel.add('CPRIV');
    await h.sim.command('/deal', 'new Hidden deal 3k', { ...rep, channel: 'CPRIV' });
    const r = await h.fake.nextResponse();
    expect(visibleText(r.body)).toContain('Hidden deal');
    expect(visibleText(r.body)).toContain('/invite @DealPulse');
  });
});

describe('threads', () => {
  it('a reply under a deal confirmation becomes a note with author and permalink; retries and bot messages add nothing', async () => {
    const post = await newDeal('Threaded deal 12k');
    const deal = await dealByName('Threaded deal');
    const rootId = String(post.result?.ts);
    expect(rootId).toMatch(/^\d+\.\d+$/);
    const event = {
      type: 'message',
      channel: 'C1',
      user: 'UREP2',
      text: 'Spoke to &lt;their&gt; CFO',
      ts: '1700000100.000200',
      thread_ts: rootId,
      channel_type: 'channel',
    };
    const res = await h.sim.event(event, { eventId: 'EvNOTE1' });
    expect(res.status).toBe(200);
    await h.fake.nextCall('chat.getPermalink');
    await expect.poll(async () => (await h.core.deps.store.listNotes(WS, deal.id, 10)).length).toBe(1);
    await h.sim.event(event, { eventId: 'EvNOTE1', retryNum: 1 });
    await h.sim.event(
      { ...event, user: 'UBOT', bot_id: 'BBOT', ts: '1700000101.000300', text: 'bot says' },
      { eventId: 'EvBOT' },
    );
    await h.sim.event({ ...event, ts: '1700000102.000400', text: 'second reply' }, { eventId: 'EvNOTE2' });
    await expect.poll(async () => (await h.core.deps.store.listNotes(WS, deal.id, 10)).length).toBe(2);
    const notes = await h.core.deps.store.listNotes(WS, deal.id, 10);
    const first = notes.find((n) => n.text.includes('CFO'))!;
    expect(first).toMatchObject({ authorId: 'UREP2', origin: 'thread', text: 'Spoke to <their> CFO' });
    expect(first.permalink).toContain('/archives/C1/p1700000100000200');
    expect(post.args.channel).toBe('C1');
    // A reply in a thread that is not about a deal costs no permalink call and saves nothing.
    const before = h.fake.callsTo('chat.getPermalink').length;
    await h.sim.event(
      { ...event, ts: '1700000103.000500', thread_ts: '1600000000.000001', text: 'lunch?' },
      { eventId: 'EvOTHER' },
    );
    await h.sim.event({ ...event, ts: '1700000104.000600', text: 'third reply' }, { eventId: 'EvNOTE3' });
    await expect.poll(async () => (await h.core.deps.store.listNotes(WS, deal.id, 10)).length).toBe(3);
    expect(h.fake.callsTo('chat.getPermalink').length).toBe(before + 1);
  });
});

describe('message shortcut and App Home', () => {
  it('"Create deal from message" opens the new-deal modal prefilled with the first line', async () => {
    const view = await openModalBy(() =>
      h.sim.interactive({
        type: 'message_action',
        callback_id: 'dp_deal_from_message',
        trigger_id: h.sim.id('trig'),
        team: { id: 'T1', domain: 'fake' },
        user: { id: 'UREP1', username: 'rui', team_id: 'T1' },
        channel: { id: 'C1', name: 'sales' },
        message: {
          type: 'message',
          user: 'UCUST',
          ts: '1700000000.1',
          text: 'Acme wants 200 seats &amp; SSO\nmore details',
        },
        message_ts: '1700000000.1',
        response_url: h.fake.responseUrl(),
        action_ts: '1700000000.2',
        token: 'legacy',
      }),
    );
    expect(view.callback_id).toBe('dp:form:deal_new');
    const name = (view.blocks as { block_id?: string; element?: { initial_value?: string } }[]).find(
      (b) => b.block_id === 'name',
    );
    expect(name?.element?.initial_value).toBe('Acme wants 200 seats & SSO');
  });

  it('App Home shows the user’s deals by stage; managers also see the team pipeline', async () => {
    await newDeal('Home deal 15k');
    await h.sim.event({
      type: 'app_home_opened',
      user: 'UREP1',
      channel: 'DREP1',
      tab: 'home',
      event_ts: '1.1',
    });
    const pub = await h.fake.nextCall('views.publish');
    expect(pub.args.user_id).toBe('UREP1');
    const text = visibleText(pub.args.view);
    expect(text).toContain('Your open deals');
    expect(text).toContain('Home deal');
    expect(text).not.toContain('Team pipeline');
    await h.sim.event({
      type: 'app_home_opened',
      user: 'UADMIN',
      channel: 'DADMIN',
      tab: 'home',
      event_ts: '1.2',
    });
    const adminHome = await h.fake.nextCall('views.publish', 2);
    expect(visibleText(adminHome.args.view)).toContain('Team pipeline');
    expect(buttons(pub.args.view as Json)).toEqual(expect.arrayContaining(['dp:home:new', 'dp:home:help']));
    const view = await openModalBy(() =>
      h.sim.interactive({
        type: 'block_actions',
        user: { id: 'UREP1', team_id: 'T1' },
        team: { id: 'T1' },
        container: { type: 'view', view_id: 'VHOME' },
        view: { id: 'VHOME', type: 'home' },
        trigger_id: h.sim.id('trig'),
        actions: [{ type: 'button', action_id: 'dp:home:new', block_id: 'b', value: 'new', action_ts: '1' }],
      }),
    );
    expect(view.callback_id).toBe('dp:form:deal_new');
  });
});
