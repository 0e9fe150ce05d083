/**
 * Drives the console in-process through stdin/stdout (PassThrough streams, not a
 * TTY: lines are read one by one, no prompt echo), on a fresh database.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enterWorkspace } from '../../../src/usecases/context.js';
import { dealHistory, getDeal } from '../../../src/usecases/deals.js';
import { testCore, testClock } from '../../helpers/core.js';
import { runSession } from './drive.js';

type TestCore = Awaited<ReturnType<typeof testCore>>;
let core: TestCore;
let dataDir: string;

beforeAll(async () => {
  core = await testCore(testClock('2026-11-02T09:00:00Z'), 'console');
  dataDir = await mkdtemp(path.join(tmpdir(), 'dp-console-'));
});
afterAll(async () => {
  await core.stop();
  await rm(dataDir, { recursive: true, force: true });
});

const session = (lines: string[], cli: { user?: string; locale?: 'en' | 'zh-CN'; exec?: string[] } = {}) =>
  runSession(core, dataDir, lines, { ...cli, user: cli.user ?? 'alice' });

const ctxOf = (user: string) =>
  enterWorkspace(core.deps, { platform: 'console', externalWorkspaceId: 'local', userId: user });

describe('console session', () => {
  it('creates a deal, advances it through prompts with a re-asked error, replies in its thread and shows the pipeline', async () => {
    const { code, text } = await session([
      '/deal new Acme Rollout 50k Acme Corp',
      '/deal advance D-1',
      '', // stage: keep [Qualification]
      '1,2', // checklist
      'Call the CFO', // next step
      'someday', // due: not a date
      '', // reason
      '+3d', // due, asked again
      '/reply 1 They want a pilot first',
      '/deal show D-1',
      '/pipeline',
    ]);
    expect(code).toBe(0);
    // The confirmation is posted to the channel with its card and numbered buttons.
    expect(text).toContain('#general ▸ msg 1\n  D-1 created: Acme Rollout\n  D-1 · Acme Rollout');
    expect(text).toContain('  Amount:    $50,000');
    expect(text).toContain(
      'Choose: [1] Advance  [2] Edit  [3] Next step  [4] Note  [5] Snooze  [6] Mark lost',
    );
    // The advance form as prompts: options numbered, default in brackets.
    expect(text).toContain('Advance D-1');
    expect(text).toContain('  1) Qualification\n  2) Needs Analysis');
    expect(text).toContain('Move to stage * (type a number or a name) [Qualification]:');
    // Only the failing field is asked again, with the error.
    expect(text).toContain('Please fix:\n• Next step due: Due date “someday” is not a date.');
    expect(text.match(/^Next step \*:/gm)).toHaveLength(1);
    expect(text.match(/^Next step due \(.*\):/gm)).toHaveLength(1);
    expect(text.match(/^Next step due \(.*\) \[someday\]:/gm)).toHaveLength(1);
    expect(text).toContain('#general ▸ msg 2\n  D-1 moved from Lead to Qualification.');
    expect(text).toContain('Next step: Call the CFO · due Nov 5, 2026');
    // The thread reply became a note.
    expect(text).toContain('  ↳ thread msg 1 ▸ msg 3\n    @alice: They want a pilot first');
    expect(text).toContain('Saved as a note on D-1.');
    expect(text).toContain('Nov 2, 2026 @alice: They want a pilot first');
    expect(text).toContain('Pipeline');

    const ctx = await ctxOf('alice');
    const h = await dealHistory(ctx, 'D-1');
    expect(h.ok).toBe(true);
    if (!h.ok) return;
    expect(h.value.deal.stage).toBe('qualification');
    expect(h.value.deal.nextStep?.text).toBe('Call the CFO');
    expect(h.value.changes.map((c) => `${c.from}→${c.to}`)).toEqual(['null→lead', 'lead→qualification']);
    expect(h.value.notes.map((n) => [n.text, n.origin])).toEqual([['They want a pilot first', 'thread']]);
  });

  it('presses a numbered button of the last message and cancels a form with an empty first answer', async () => {
    const { code, text } = await session(['/deal show D-1', '2', '', '/deal new', '']);
    expect(code).toBe(0);
    // [2] on the card is "Next step": its form opens; the empty first answer cancels it.
    expect(text).toContain('Next step for D-1');
    expect(text.match(/Cancelled: nothing was changed\./g)).toHaveLength(2);
    const ctx = await ctxOf('alice');
    const d = await getDeal(ctx, 'D-1');
    expect(d.ok && d.value.nextStep?.text).toBe('Call the CFO');
    expect(await getDeal(ctx, 'D-2')).toMatchObject({ ok: false });
  });

  it('speaks Chinese with --locale zh-CN and acts as another user with --user', async () => {
    const { code, text } = await session(
      ['/whoami', '新建 华信项目 5万 华信科技', '/quit', '/deal show D-1'],
      {
        user: 'bob',
        locale: 'zh-CN',
      },
    );
    expect(code).toBe(0);
    expect(text).toContain('你是 @bob（销售），语言 zh-CN');
    expect(text).toContain('#general ▸ 消息 1\n  已创建 D-2：华信项目');
    expect(text).toContain('  负责人：   @bob');
    // Nothing after /quit runs.
    expect(text).not.toContain('D-1 · Acme Rollout');
  });

  it('--exec prints each command and exits non-zero when one fails', async () => {
    const ok = await session([], { exec: ['/deal show D-1', '/deal list all'] });
    expect(ok.code).toBe(0);
    expect(ok.text).toContain('D-1 · Acme Rollout');
    const bad = await session([], { exec: ['/deal show D-77', '/deal list all'] });
    expect(bad.code).toBe(1);
    expect(bad.text).toContain('D-77');
    const unknown = await session([], { exec: ['/deal frobnicate'] });
    expect(unknown.code).toBe(1);
    // A form in --exec with no input to answer it is a failure too.
    const form = await session([], { exec: ['/deal advance D-1'] });
    expect(form.code).toBe(1);
    expect(form.text).toContain('Cancelled: nothing was changed.');
  });
});
