/**
 * Slack latency bench, through Bolt's real HTTPReceiver with correctly signed requests.
 * Processes (so the load generator does not share an event loop with what it measures):
 *  - this process: the load generator only (pre-signed bodies, keep-alive HTTP agent);
 *  - child `dealpulse`: the embedded store + a DealPulse core + the Slack adapter;
 *  - child `bare`: a bare Bolt App whose `/deal` listener only acks;
 *  - child `fake`: the fake Slack Web API / response_url endpoint (test/adapters/slack).
 * All started by bench/slack-bot-process.ts. Measured:
 *  - ack latency of `/deal` under 50 concurrent requests (send → full HTTP answer), next to the
 *    bare app; bursts of the two apps are interleaved so both see the same machine;
 *  - end-to-end `/deal advance`: from sending the signed view_submission of the advance modal until
 *    the fake Slack API has recorded the confirmation (chat.postMessage) and told this process.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import { median, ms, percentile, type BenchModule, type BenchRow } from './lib.js';

const SECRET = 'bench-signing-secret'; // = BENCH_SECRET in slack-bot-process.ts
const CONCURRENCY = 50;
const BURSTS = 10;
const WARMUP_BURSTS = 3;
const ADVANCES = 100;

type Json = Record<string, unknown>;

/** One child of slack-bot-process.ts: its READY info and a tiny request/answer channel over IPC. */
class Child {
  private next = 0;
  private pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private constructor(
    readonly proc: ChildProcess,
    readonly info: Json & { port: number },
  ) {
    proc.on('message', (m: { id: number; ok: boolean; value?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(new Error(m.error));
    });
  }

  static async start(args: string[]): Promise<Child> {
    const proc = fork(new URL('./slack-bot-process.ts', import.meta.url), args, {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    const info = await new Promise<Json & { port: number }>((resolve, reject) => {
      const lines = createInterface({ input: proc.stdout! });
      lines.on('line', (line) => {
        if (line.startsWith('READY ')) resolve(JSON.parse(line.slice(6)) as Json & { port: number });
      });
      proc.once('exit', (code) => reject(new Error(`slack-bot-process ${args[0]} exited (${code})`)));
    });
    return new Child(proc, info);
  }

  call<T>(op: string, args: Json = {}): Promise<T> {
    const id = (this.next += 1);
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, op, args });
    });
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    this.proc.kill('SIGTERM');
    await exited;
  }
}

/** The `/deal` commands of a burst: a realistic mix of writes and reads. */
function burstLine(i: number, burst: number): string {
  switch (i % 5) {
    case 0:
    case 1:
      return `new Bench ${burst}-${i} ${10 + i}k Company${i}`;
    case 2:
      return 'list';
    case 3:
      return `show D-${1 + (i % 20)}`;
    default:
      return 'help';
  }
}

interface Signed {
  body: Buffer;
  headers: Record<string, string | number>;
}

function signed(body: string, contentType: string): Signed {
  const ts = Math.floor(Date.now() / 1000);
  const sig = `v0=${createHmac('sha256', SECRET).update(`v0:${ts}:${body}`).digest('hex')}`;
  const buf = Buffer.from(body);
  return {
    body: buf,
    headers: {
      'content-type': contentType,
      'content-length': buf.length,
      'x-slack-request-timestamp': ts,
      'x-slack-signature': sig,
    },
  };
}

let seq = 0;
const uid = (prefix: string) => `${prefix}${(seq += 1)}${randomBytes(3).toString('hex')}`;

function commandBody(fake: Json, text: string, user: string): Signed {
  const body = new URLSearchParams({
    token: 'legacy',
    team_id: String(fake.teamId),
    team_domain: 'fake',
    channel_id: 'C1',
    channel_name: 'sales',
    user_id: user,
    user_name: user.toLowerCase(),
    command: '/deal',
    text,
    api_app_id: 'A1',
    is_enterprise_install: 'false',
    response_url: `${String(fake.url)}/response/${randomBytes(4).toString('hex')}`,
    trigger_id: uid('trig'),
  }).toString();
  return signed(body, 'application/x-www-form-urlencoded');
}

function viewSubmissionBody(fake: Json, user: string, view: Json, state: Record<string, Json>): Signed {
  const values: Record<string, Json> = {};
  for (const [block, v] of Object.entries(state)) values[block] = { v };
  const team = String(fake.teamId);
  const payload = {
    type: 'view_submission',
    team: { id: team, domain: 'fake' },
    user: { id: user, username: user.toLowerCase(), team_id: team },
    api_app_id: 'A1',
    token: 'legacy',
    trigger_id: uid('trig'),
    view: {
      id: uid('V'),
      team_id: team,
      type: 'modal',
      hash: 'h1',
      state: { values },
      app_id: 'A1',
      bot_id: 'BBOT',
      ...view,
    },
    response_urls: [],
  };
  return signed(
    `payload=${encodeURIComponent(JSON.stringify(payload))}`,
    'application/x-www-form-urlencoded',
  );
}

/** Keep-alive connections, as many as requests in flight: no TCP handshakes inside the timing. */
const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY, keepAliveMsecs: 1000 });

/** POSTs a pre-signed body; resolves with the status, the answer and the time from send to its last byte. */
function send(port: number, s: Signed): Promise<{ status: number; text: string; took: number }> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const req = request(
      { host: '127.0.0.1', port, path: '/slack/events', method: 'POST', headers: s.headers, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const took = ms(start);
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString(), took });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(s.body);
  });
}

async function burst(port: number, fake: Json, burstNo: number, user: string): Promise<number[]> {
  // Bodies are built and signed before the clock starts.
  const bodies = Array.from({ length: CONCURRENCY }, (_, i) =>
    commandBody(fake, burstLine(i, burstNo), `${user}${i % 5}`),
  );
  const results = await Promise.all(bodies.map((b) => send(port, b)));
  for (const r of results) if (r.status !== 200) throw new Error(`/deal answered ${r.status}: ${r.text}`);
  return results.map((r) => r.took);
}

async function run(): Promise<BenchRow[]> {
  const children: Child[] = [];
  try {
    const fakeChild = await Child.start(['fake']);
    children.push(fakeChild);
    const fake = fakeChild.info;
    const apiUrl = String(fake.apiUrl);
    const dbChild = await Child.start(['db']);
    children.push(dbChild);
    const [dpChild, bareChild] = await Promise.all([
      Child.start(['dealpulse', apiUrl, String(fake.teamId), String(dbChild.info.uri)]),
      Child.start(['bare', apiUrl]),
    ]);
    children.push(dpChild, bareChild);
    const dpPort = dpChild.info.port;
    const barePort = bareChild.info.port;

    // Workspace with 20 deals to show (created by the admin inside the bot's process).
    for (let i = 0; i < 20; i += 1)
      await dpChild.call('createDeal', { name: `Seed ${i}`, amount: `${i + 1}k`, company: `Seed Co ${i}` });

    let { posts, replies } = await fakeChild.call<{ posts: number; replies: number }>('counts');
    // What the fake has received once the background work of every /deal burst so far is done:
    // 2 of 5 commands post a confirmation, 3 of 5 answer through response_url.
    const settle = async (b: number) => {
      posts += CONCURRENCY * (2 / 5);
      replies += CONCURRENCY * (3 / 5);
      await fakeChild.call('settle', { posts, replies, what: `background work of burst ${b}` });
    };
    // Warm-up of both servers and the keep-alive connections (JIT, pools, caches) — not measured.
    for (let w = 0; w < WARMUP_BURSTS; w += 1) {
      await burst(dpPort, fake, -1 - w, 'UW');
      await settle(-1 - w);
      await burst(barePort, fake, -1 - w, 'UW');
    }

    const dp: number[] = [];
    const base: number[] = [];
    for (let b = 0; b < BURSTS; b += 1) {
      // Interleaved, alternating which app goes first; each burst starts on a quiet machine.
      if (b % 2 === 0) {
        dp.push(...(await burst(dpPort, fake, b, 'UB')));
        await settle(b);
        base.push(...(await burst(barePort, fake, b, 'UB')));
      } else {
        base.push(...(await burst(barePort, fake, b, 'UB')));
        dp.push(...(await burst(dpPort, fake, b, 'UB')));
        await settle(b);
      }
    }
    const dpP99 = percentile(dp, 99);
    const baseP99 = percentile(base, 99);
    const ratio = dpP99 / baseP99;

    // End-to-end advance: open the modal (not measured), then time submit → confirmation posted.
    const e2e: number[] = [];
    const acks: number[] = [];
    let opened = await countCalls(fakeChild, 'views.open');
    let posted = await countCalls(fakeChild, 'chat.postMessage');
    for (let i = 0; i < ADVANCES; i += 1) {
      const code = await dpChild.call<string>('createDeal', {
        name: `Advance ${i}`,
        amount: '25k',
        company: `Adv Co ${i}`,
      });
      opened += 1;
      const cmd = await send(dpPort, commandBody(fake, `advance ${code}`, 'UADMIN'));
      if (cmd.status !== 200) throw new Error(`/deal advance answered ${cmd.status}: ${cmd.text}`);
      const view = (await fakeChild.call<Json>('nthCall', { method: 'views.open', n: opened })).view as Json;
      if (view.callback_id !== 'dp:form:deal_advance')
        throw new Error(`unexpected modal ${String(view.callback_id)}`);
      const submit = viewSubmissionBody(fake, 'UADMIN', view, {
        stage: {
          type: 'static_select',
          selected_option: { value: 'qualification', text: { type: 'plain_text', text: 'qualification' } },
        },
        'nextStep.text': { type: 'plain_text_input', value: 'Call the CFO' },
        'nextStep.due': { type: 'datepicker', selected_date: null },
      });
      posted += 1;
      const start = process.hrtime.bigint();
      const confirmation = fakeChild.call<Json>('nthCall', { method: 'chat.postMessage', n: posted });
      const res = await send(dpPort, submit);
      acks.push(res.took);
      if (res.status !== 200 || res.text !== '') throw new Error(`advance submit: ${res.status} ${res.text}`);
      const last = await confirmation;
      e2e.push(ms(start));
      if (!JSON.stringify(last).includes(`Advance ${i}`)) throw new Error('confirmation of another deal');
    }
    const e2eP95 = percentile(e2e, 95);
    const advanced = await dpChild.call<number>('countInStage', {
      stage: 'qualification',
      prefix: 'Advance ',
    });

    return [
      {
        group: 'slack',
        metric: `/deal ack p50, ${CONCURRENCY} concurrent`,
        value: median(dp),
        unit: 'ms',
        note: `${dp.length} requests in ${BURSTS} bursts; mix new/list/show/help; bot in a child process`,
      },
      {
        group: 'slack',
        metric: `/deal ack p99, ${CONCURRENCY} concurrent`,
        value: dpP99,
        unit: 'ms',
        goal: '≤ 50 ms',
        pass: dpP99 <= 50,
      },
      {
        group: 'slack',
        metric: 'bare Bolt ack p50 (same run)',
        value: median(base),
        unit: 'ms',
        note: 'bare app in its own child process',
      },
      {
        group: 'slack',
        metric: 'bare Bolt ack p99 (same run)',
        value: baseP99,
        unit: 'ms',
      },
      {
        group: 'slack',
        metric: '/deal ack p99 ÷ bare p99',
        value: ratio,
        unit: '×',
        goal: '≤ 1.5×',
        pass: ratio <= 1.5,
      },
      {
        group: 'slack',
        metric: '/deal advance e2e p50 (submit → confirmation)',
        value: median(e2e),
        unit: 'ms',
        note: `${ADVANCES} sequential; submit ack p50 ${median(acks).toFixed(1)} ms`,
      },
      {
        group: 'slack',
        metric: '/deal advance e2e p95',
        value: e2eP95,
        unit: 'ms',
        goal: '≤ 150 ms',
        pass: e2eP95 <= 150,
        note: `${advanced}/${ADVANCES} deals in Qualification after the run`,
      },
    ];
  } finally {
    agent.destroy();
    for (const c of children.reverse()) await c.stop();
  }
}

async function countCalls(fakeChild: Child, method: string): Promise<number> {
  return fakeChild.call<number>('count', { method });
}

const mod: BenchModule = { name: 'slack', run };
export default mod;
