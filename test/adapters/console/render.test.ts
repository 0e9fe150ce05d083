import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { normaliseMentions } from '../../../src/adapters/console/index.js';
import { displayWidth, renderMessage, safeText } from '../../../src/adapters/console/render.js';
import { funnelChart } from '../../../src/charts/index.js';
import type { RichMessage } from '../../../src/presenters/rich.js';

const dirs: string[] = [];
const tempDir = async () => {
  const d = await mkdtemp(path.join(tmpdir(), 'dp-render-'));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('console renderer', () => {
  it('renders headers, aligned fields, bullets, mentions and numbered buttons', async () => {
    const message: RichMessage = {
      summary: 'D-1 created',
      blocks: [
        { type: 'text', text: ['D-1 created: ', { bold: 'Acme' }] },
        { type: 'header', text: 'D-1 · Acme' },
        {
          type: 'fields',
          fields: [
            { label: 'Company', value: ['Acme Corp'] },
            { label: 'Owner', value: [{ mention: 'alice' }] },
            {
              label: 'Next step',
              value: ['Call ', { code: 'CFO' }, ' ', { link: 'https://x.test', text: 'deck' }],
            },
          ],
        },
        { type: 'list', items: [['first'], ['second\nline']] },
        { type: 'divider' },
        {
          type: 'actions',
          actions: [
            { kind: 'advance', label: 'Advance', value: 'id1', style: 'primary' },
            { kind: 'note', label: 'Note', value: 'id1' },
          ],
        },
      ],
    };
    const r = await renderMessage(message, { locale: 'en', outDir: await tempDir() });
    expect(r.text).toBe(
      [
        'D-1 created: Acme',
        'D-1 · Acme',
        '──────────',
        'Company:   Acme Corp',
        'Owner:     @alice',
        'Next step: Call CFO deck (https://x.test)',
        '  • first',
        '  • second',
        '    line',
        '─'.repeat(40),
        'Choose: [1] Advance  [2] Note',
      ].join('\n'),
    );
    expect(r.actions.map((a) => a.kind)).toEqual(['advance', 'note']);
  });

  it('aligns Chinese labels by display width and localizes the choices line', async () => {
    const r = await renderMessage(
      {
        summary: 'x',
        blocks: [
          {
            type: 'fields',
            fields: [
              { label: '公司', value: ['华信'] },
              { label: '下一步行动', value: ['致电'] },
            ],
          },
          { type: 'actions', actions: [{ kind: 'advance', label: '推进', value: 'v' }] },
        ],
      },
      { locale: 'zh-CN', outDir: await tempDir() },
    );
    expect(r.text).toBe('公司：       华信\n下一步行动： 致电\n请选择：[1] 推进');
    expect(displayWidth('下一步行动：')).toBe(12);
  });

  it('neutralises terminal control sequences in user text', async () => {
    const evil = 'Acme\u001b[2J\u0007\rOwned';
    const r = await renderMessage(
      {
        summary: evil,
        blocks: [
          { type: 'header', text: evil },
          { type: 'text', text: [evil, { mention: 'x\u001b]0;pwn\u0007' }] },
        ],
      },
      { locale: 'en', outDir: await tempDir() },
    );
    // eslint-disable-next-line no-control-regex
    expect(r.text).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
    expect(r.text).toContain('Acme\ufffd[2J\ufffd\ufffdOwned');
    expect(safeText('a\nb\tc')).toBe('a\nb\tc');
  });

  it('writes charts as PNG files under the out directory and prints their paths', async () => {
    const out = path.join(await tempDir(), 'out');
    const image = await funnelChart({
      locale: 'en',
      currency: 'USD',
      title: 'Pipeline funnel',
      stages: [
        { key: 'lead', label: 'Lead', count: 10, value: 1000, conversionToNext: 0.5 },
        { key: 'won', label: 'Won', count: 5, value: 500, conversionToNext: null, terminal: 'won' },
      ],
    });
    const r = await renderMessage(
      {
        summary: 'charts',
        blocks: [
          { type: 'image', image },
          { type: 'image', image },
        ],
      },
      { locale: 'en', outDir: out },
    );
    expect(r.images).toEqual([path.join(out, 'funnel.png'), path.join(out, 'funnel-2.png')]);
    expect(r.text).toContain(`🖼 Pipeline funnel: ${path.join(out, 'funnel.png')}`);
    const meta = await sharp(await readFile(r.images[0]!)).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBe(image.width);
  });

  it('turns typed @mentions into mention tokens, but not e-mail addresses', () => {
    expect(normaliseMentions('/deal assign D-1 @alice')).toBe('/deal assign D-1 <@alice>');
    expect(normaliseMentions('/deal list @chen.wei.')).toBe('/deal list <@chen.wei>.');
    expect(normaliseMentions('/deal note D-1 mail bob@acme.com')).toBe('/deal note D-1 mail bob@acme.com');
  });
});
