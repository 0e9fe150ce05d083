/** `/deal import <path>` and `/pipeline export` in the console: files on this machine. */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { enterWorkspace } from '../../../src/usecases/context.js';
import { listDeals } from '../../../src/usecases/deals.js';
import { testClock, testCore } from '../../helpers/core.js';
import { runSession } from './drive.js';

let core: Awaited<ReturnType<typeof testCore>>;
let dir = '';
beforeAll(async () => {
  core = await testCore(testClock('2026-11-02T09:00:00Z'), 'console-transfer');
  dir = await mkdtemp(path.join(tmpdir(), 'dp-console-transfer-'));
});
afterAll(async () => {
  await core.stop();
  await rm(dir, { recursive: true, force: true });
});

const session = (lines: string[], user = 'boss') => runSession(core, dir, lines, { user });

it('imports a CSV from a path after a preview, and exports the pipeline as files under DATA_DIR/out', async () => {
  const csv = path.join(dir, 'pipeline.csv');
  await writeFile(
    csv,
    'Deal,Company,Amount,Stage\nAcme renewal,Acme,50k,Lead\nGlobex,Globex Inc,lots,Lead\n',
  );
  const { code, text } = await session([`/deal import ${csv}`, '1', '/pipeline export csv']);
  expect(code).toBe(0);
  expect(text).toContain('2 rows: 1 new, 0 to update, 0 unchanged, 1 with problems.');
  expect(text).toContain('1 created, 0 updated, 0 unchanged, 1 skipped.');
  expect(text).toContain('Row 3: Amount “lots” is not an amount.');
  const ctx = await enterWorkspace(core.deps, {
    platform: 'console',
    externalWorkspaceId: 'local',
    userId: 'boss',
  });
  const all = await listDeals(ctx, { kind: 'all' });
  expect(all.ok && all.value.deals.map((d) => [d.name, d.amount])).toEqual([['Acme renewal', 50_000]]);
  const written = /📄 (\S+deals\S+\.csv)/.exec(text)?.[1];
  expect(written).toBeDefined();
  const exported = await readFile(written!, 'utf8');
  expect(exported.split('\n')[1]).toContain('Acme renewal');
});

it('a rep cannot import; a missing file is named', async () => {
  const { text } = await session(['/deal import /nonexistent/file.csv'], 'rep1');
  expect(text).toContain('Could not read “/nonexistent/file.csv”: ENOENT');
  const csv = path.join(dir, 'rep.csv');
  await writeFile(csv, 'Deal\nX\n');
  const r = await session([`/deal import ${csv}`], 'rep1');
  expect(r.text).toContain('Only managers can import deals.');
});
