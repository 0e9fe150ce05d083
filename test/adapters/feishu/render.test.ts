import { describe, expect, it } from 'vitest';
import {
  CARD_MAX_BYTES,
  cardBytes,
  escapeMd,
  formCard,
  messageCard,
  renderText,
  specFromSubmit,
  type SubmitValue,
} from '../../../src/adapters/feishu/render.js';
import type { FormSpec } from '../../../src/interactions/types.js';
import type { RichMessage } from '../../../src/presenters/rich.js';

describe('feishu markdown escaping', () => {
  it('turns markup in user text into entities so it shows literally', () => {
    expect(escapeMd('<at id=all></at> **bold** _x_ ~s~ `c` [l](http://e) #h a&b \\ | $')).toBe(
      '&lt;at id=all&gt;&lt;/at&gt; &#42;&#42;bold&#42;&#42; &#95;x&#95; &#126;s&#126; &#96;c&#96; &#91;l&#93;&#40;http://e&#41; &#35;h a&amp;b &#92; &#124; &#36;',
    );
    expect(escapeMd('- not a list\n1. nor this')).toBe('&#45; not a list\n1&#46; nor this');
  });

  it('a deal named like a mention of everyone cannot mention anyone; explicit mentions can', () => {
    const md = renderText([
      'Deal ',
      { bold: '<at id=all></at>' },
      ' owner ',
      { mention: 'ou_123abc' },
      ' ',
      { mention: 'all' },
    ]);
    expect(md).toBe('Deal **&lt;at id=all&gt;&lt;/at&gt;** owner <at id=ou_123abc></at> @all');
    expect(md).not.toContain('<at id=all>');
  });

  it('links only http(s) URLs and escapes their text', () => {
    expect(renderText([{ link: 'https://x.test/a(b)', text: '报价 *v2*' }])).toBe(
      '[报价 &#42;v2&#42;](https://x.test/a%28b%29)',
    );
    expect(renderText([{ link: 'javascript:alert(1)', text: 'x' }])).toBe('x');
  });
});

const dealCardMessage: RichMessage = {
  summary: 'D-7 星辰科技续约',
  blocks: [
    { type: 'header', text: 'D-7 · 星辰科技续约' },
    {
      type: 'fields',
      fields: [
        { label: '金额', value: ['¥50,000'] },
        { label: '负责人', value: [{ mention: 'ou_alice' }] },
      ],
    },
    { type: 'context', text: ['已在该阶段 3 天'] },
    { type: 'divider' },
    {
      type: 'actions',
      actions: [
        { kind: 'advance', label: '推进', value: 'deal-1', style: 'primary' },
        { kind: 'lost', label: '输单', value: 'deal-1', style: 'danger' },
      ],
    },
  ],
};

describe('feishu cards', () => {
  it('renders a deal card as card JSON 2.0 with header, fields, callback buttons', () => {
    expect(messageCard(dealCardMessage, { locale: 'zh-CN' })).toEqual({
      schema: '2.0',
      config: { update_multi: true, summary: { content: 'D-7 星辰科技续约' } },
      header: { title: { tag: 'plain_text', content: 'D-7 · 星辰科技续约' }, template: 'blue' },
      body: {
        elements: [
          { tag: 'markdown', content: '**金额**：¥50,000\n**负责人**：<at id=ou_alice></at>' },
          { tag: 'markdown', content: "<font color='grey'>已在该阶段 3 天</font>", text_size: 'notation' },
          { tag: 'hr' },
          {
            tag: 'column_set',
            flex_mode: 'flow',
            horizontal_spacing: '8px',
            columns: [
              {
                tag: 'column',
                width: 'auto',
                elements: [
                  {
                    tag: 'button',
                    text: { tag: 'plain_text', content: '推进' },
                    type: 'primary',
                    behaviors: [{ type: 'callback', value: { a: 'advance', v: 'deal-1' } }],
                  },
                ],
              },
              {
                tag: 'column',
                width: 'auto',
                elements: [
                  {
                    tag: 'button',
                    text: { tag: 'plain_text', content: '输单' },
                    type: 'danger',
                    behaviors: [{ type: 'callback', value: { a: 'lost', v: 'deal-1' } }],
                  },
                ],
              },
            ],
          },
        ],
      },
    });
  });

  it('shows an uploaded chart as an img element and an unuploaded one as its alt text', () => {
    const image = {
      png: Buffer.from('x'),
      width: 10,
      height: 10,
      altText: '漏斗：潜在客户 3',
      title: '销售漏斗',
      filename: 'funnel.png',
    };
    const msg: RichMessage = { summary: 's', blocks: [{ type: 'image', image }] };
    expect(
      messageCard(msg, { locale: 'zh-CN', imageKeys: new Map([[image, 'img_v3_1']]) }).body.elements,
    ).toEqual([
      {
        tag: 'img',
        img_key: 'img_v3_1',
        alt: { tag: 'plain_text', content: '漏斗：潜在客户 3' },
        title: { tag: 'plain_text', content: '销售漏斗' },
        scale_type: 'fit_horizontal',
        preview: true,
      },
    ]);
    expect(messageCard(msg, { locale: 'zh-CN' }).body.elements).toEqual([
      { tag: 'markdown', content: '漏斗：潜在客户 3' },
    ]);
  });

  it('keeps a huge digest under 30 KB, says it was shortened and keeps the buttons', () => {
    const items = Array.from({ length: 400 }, (_, i) => [
      `D-${i} 某某科技有限公司的一笔很长的商机名称 `,
      { bold: '¥1,000,000' },
    ]);
    const big: RichMessage = {
      summary: '周报',
      blocks: [
        { type: 'header', text: '销售周报' },
        ...Array.from({ length: 8 }, () => ({ type: 'list' as const, items: items.slice(0, 50) })),
        { type: 'actions', actions: [{ kind: 'page', label: '下一页', value: '{"p":1}' }] },
      ],
    };
    const card = messageCard(big, { locale: 'zh-CN' });
    expect(cardBytes(card)).toBeLessThanOrEqual(CARD_MAX_BYTES);
    const els = card.body.elements;
    expect(els.at(-1)).toMatchObject({ tag: 'column_set' });
    expect(els.at(-2)).toMatchObject({
      tag: 'markdown',
      content: "<font color='grey'>卡片内容过长，已按飞书的大小限制截断。</font>",
    });
    expect(els.length).toBeGreaterThan(2);
  });
});

const advanceForm: FormSpec = {
  id: 'deal_advance',
  title: '推进 D-7',
  submitLabel: '推进',
  state: '{"d":"deal-1","v":3}',
  intro: [['进入「方案/报价」需要：', { bold: '方案已发送' }]],
  fields: [
    {
      name: 'stage',
      label: '目标阶段',
      kind: 'select',
      required: true,
      initial: 'proposal',
      options: [
        { value: 'proposal', label: '方案/报价' },
        { value: 'negotiation', label: '谈判/签约' },
      ],
    },
    {
      name: 'checklist',
      label: '准入清单',
      kind: 'checklist',
      required: false,
      options: [
        { value: '0', label: '方案已发送' },
        { value: '1', label: '报价已审批' },
      ],
    },
    { name: 'amount', label: '金额', kind: 'text', required: true, hint: '例如 5万' },
    { name: 'nextStep.text', label: '下一步', kind: 'textarea', required: true },
    { name: 'nextStep.due', label: '截止日期', kind: 'date', required: false },
    { name: 'owner', label: '负责人', kind: 'user', required: false, initial: 'ou_alice' },
  ],
};

describe('feishu form cards', () => {
  it('renders a form container with one component per field and a submit button carrying the form', () => {
    const card = formCard(advanceForm, { locale: 'zh-CN' });
    expect(card.header).toEqual({ title: { tag: 'plain_text', content: '推进 D-7' }, template: 'blue' });
    expect(card.body.elements[0]).toEqual({
      tag: 'markdown',
      content: '进入「方案/报价」需要：**方案已发送**',
    });
    const form = card.body.elements[1] as { tag: string; elements: Record<string, unknown>[] };
    expect(form.tag).toBe('form');
    const components = form.elements.filter((e) => e.tag !== 'markdown');
    expect(components.map((c) => [c.tag, c.name])).toEqual([
      ['select_static', 'f0'],
      ['multi_select_static', 'f1'],
      ['input', 'f2'],
      ['input', 'f3'],
      ['date_picker', 'f4'],
      ['select_person', 'f5'],
      ['button', 'submit'],
    ]);
    expect(components[0]).toMatchObject({
      required: true,
      initial_option: 'proposal',
      options: [
        { text: { tag: 'plain_text', content: '方案/报价' }, value: 'proposal' },
        { text: { tag: 'plain_text', content: '谈判/签约' }, value: 'negotiation' },
      ],
    });
    expect(components[3]).toMatchObject({ input_type: 'multiline_text', required: true });
    const submit = components[6]!;
    expect(submit.form_action_type).toBe('submit');
    const value = (submit.behaviors as { value: SubmitValue }[])[0]!.value;
    expect(value.f).toBe('deal_advance');
    expect(value.s).toBe('{"d":"deal-1","v":3}');
    expect(value.n).toEqual(['stage', 'checklist', 'amount', 'nextStep.text', 'nextStep.due', 'owner']);
    expect(form.elements).toContainEqual({
      tag: 'markdown',
      content: "<font color='grey'>例如 5万</font>",
      text_size: 'notation',
    });
  });

  it('shows validation errors under their fields and keeps what the user typed', () => {
    const value = (
      formCard(advanceForm, { locale: 'zh-CN' }).body.elements[1] as { elements: Record<string, unknown>[] }
    ).elements.at(-1)!.behaviors as { value: SubmitValue }[];
    const spec = specFromSubmit(value[0]!.value, { amount: '五十', 'nextStep.text': '发合同' })!;
    const card = formCard(spec, {
      locale: 'zh-CN',
      errors: { amount: '金额“五十”不是有效金额。', _form: '有人刚刚修改了这笔商机。' },
    });
    expect(card.header?.template).toBe('red');
    expect(card.body.elements[0]).toEqual({
      tag: 'markdown',
      content: "<font color='red'>有人刚刚修改了这笔商机。</font>",
    });
    const els = (card.body.elements.at(-1) as { elements: Record<string, unknown>[] }).elements;
    const amount = els.findIndex((e) => e.name === 'f2');
    expect(els[amount]).toMatchObject({ tag: 'input', default_value: '五十' });
    expect(els[amount + 2]).toEqual({
      tag: 'markdown',
      content: "<font color='red'>金额“五十”不是有效金额。</font>",
    });
    expect(els.find((e) => e.name === 'f3')).toMatchObject({ default_value: '发合同' });
  });
});

describe('feishu form card size', () => {
  it('a form too big to also carry its spec drops the spec (errors then come as a toast) and stays under 30 KB', () => {
    const options = Array.from({ length: 100 }, (_, i) => ({
      value: `v${i}`,
      label: `选项 ${i} ${'很长的说明文字'.repeat(4)}`,
    }));
    const big: FormSpec = {
      ...advanceForm,
      fields: Array.from({ length: 4 }, (_, i) => ({
        name: `custom.f${i}`,
        label: `字段 ${i}`,
        kind: 'select' as const,
        required: false,
        options,
      })),
    };
    const card = formCard(big, { locale: 'zh-CN' });
    expect(cardBytes(card)).toBeLessThanOrEqual(CARD_MAX_BYTES);
    const form = card.body.elements.find((e) => e.tag === 'form') as { elements: Record<string, unknown>[] };
    const value = (form.elements.at(-1)!.behaviors as { value: SubmitValue }[])[0]!.value;
    expect(value).toEqual({
      f: 'deal_advance',
      s: advanceForm.state,
      n: ['custom.f0', 'custom.f1', 'custom.f2', 'custom.f3'],
    });
    expect(specFromSubmit(value, {})).toBeUndefined();
    // The small form carries it.
    const small = (
      formCard(advanceForm, { locale: 'zh-CN' }).body.elements[1] as { elements: Record<string, unknown>[] }
    ).elements.at(-1)!;
    expect((small.behaviors as { value: SubmitValue }[])[0]!.value.p?.title).toBe('推进 D-7');
  });
});
