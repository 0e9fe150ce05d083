import { describe, expect, it } from 'vitest';
import { catalogs, renderError, t } from '../../src/i18n/index.js';
import { DEFAULT_STAGES } from '../../src/domain/pipeline.js';

function keys(o: object, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) =>
    typeof v === 'object' && v !== null ? keys(v as object, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

describe('message catalogues', () => {
  it('zh-CN has every message en has, and none is empty', () => {
    const en = keys(catalogs.en.translation).sort();
    const zh = keys(catalogs['zh-CN'].translation).sort();
    expect(zh).toEqual(en);
    for (const k of zh) expect(t('zh-CN', k).trim(), k).not.toBe('');
  });

  it('renders typed errors as sentences naming the field and what is accepted', () => {
    expect(
      renderError('en', { kind: 'Invalid', field: 'amount', value: 'lots', reason: 'amount_format' }),
    ).toBe('Amount “lots” is not an amount. Try 50000, 50,000, 50k, 1.2M, 5万, 1.5亿, ¥50,000 or $50k.');
    expect(
      renderError('zh-CN', { kind: 'Invalid', field: 'dueDate', value: '某天', reason: 'date_format' }),
    ).toBe('截止日期“某天”不是有效日期。可以写 2026-12-31、明天、+3d、2w、周五 或 下周五。');
    expect(
      renderError(
        'zh-CN',
        { kind: 'Invalid', field: 'stage', value: 'xyz', reason: 'stage_unknown' },
        { stages: DEFAULT_STAGES },
      ),
    ).toBe(
      '没有名为“xyz”的阶段。请使用阶段标识、名称或名称开头：潜在客户、资格评估、需求分析、方案/报价、谈判/签约、成交、流失。',
    );
    expect(renderError('en', { kind: 'Forbidden', action: 'reopen' })).toBe(
      'Only managers can reopen a closed deal.',
    );
    expect(
      renderError('en', {
        kind: 'Invalid',
        field: 'name',
        value: 'x'.repeat(500),
        reason: 'text_too_long',
        params: { max: 200, length: 500 },
      }),
    ).toBe('Deal name is too long (500 characters; at most 200).');
  });
});
