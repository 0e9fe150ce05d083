/**
 * `npm start -- --demo --exec …` as a user runs it: a child process with its own
 * DATA_DIR (the app picks its embedded database there, since the app always uses
 * the database name `dealpulse` and cannot share the test server's), asserting on
 * stdout, the exit code and the PNG files written under DATA_DIR/out/.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '../../..');
const tsx = path.join(root, 'node_modules/.bin/tsx');
let dataDir: string;

function start(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^(SLACK_|FEISHU_|MONGODB_URI|LOG_LEVEL|VITEST)/.test(k)) env[k] = v;
  Object.assign(env, {
    DATA_DIR: dataDir,
    MONGOMS_DISABLE_DOWNLOAD: '1',
    DEFAULT_LOCALE: 'en',
    DEFAULT_TIMEZONE: 'UTC',
  });
  return new Promise((resolve) => {
    execFile(tsx, ['src/main.ts', ...args], { cwd: root, env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'dp-exec-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

describe('npm start -- --exec', () => {
  it('loads the demo, prints the review with its bottleneck, writes decodable charts and exits 0', async () => {
    const r = await start(['--demo', '--exec', '/pipeline review', '--exec', '/deal show D-1']);
    expect(r.stderr).toContain('Demo pipeline loaded: 300 deals');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Bottleneck: Proposal\/Quote — conversion \d+% vs trailing average \d+%/);
    expect(r.stdout).toContain('D-1 · ');
    const out = path.join(dataDir, 'out');
    const pngs = (await readdir(out)).filter((f) => f.endsWith('.png'));
    expect(pngs.length).toBeGreaterThan(0);
    for (const f of pngs) {
      expect(r.stdout).toContain(path.join(out, f));
      const meta = await sharp(await readFile(path.join(out, f))).metadata();
      expect(meta.format).toBe('png');
      expect(meta.width).toBeGreaterThan(100);
    }
  });

  it('keeps the data between runs, does not load the demo twice, and exits 1 when a command fails', async () => {
    const r = await start([
      '--demo',
      '--locale',
      'zh-CN',
      '--user',
      'alice',
      '--exec',
      '/deal list mine',
      '--exec',
      '/deal show D-999',
    ]);
    expect(r.stderr).toContain('演示数据已经加载过（300 个商机）');
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('@alice');
    expect(r.stdout).toContain('D-999');
  });
});
