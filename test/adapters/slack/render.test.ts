/** The Block Kit renderer: mrkdwn escaping, limits, modals and inline errors (pure). */
import { describe, expect, it } from 'vitest';
import { validateSurface } from '../../../src/adapters/slack/limits.js';
import {
  clip,
  escapeMrkdwn,
  formValues,
  mrkdwn,
  parseActionId,
  parseModalMeta,
  renderMessage,
  renderModal,
  viewErrors,
} from '../../../src/adapters/slack/render.js';
import type { FormSpec } from '../../../src/interactions/types.js';
import type { RichMessage } from '../../../src/presenters/rich.js';

describe('mrkdwn escaping', () => {
  it('turns broadcast and user mentions typed by users into harmless text', () => {
    expect(mrkdwn(['Deal <!channel> for <@U123> & co'])).toBe(
      'Deal &lt;!channel&gt; for &lt;@U123&gt; &amp; co',
    );
    expect(mrkdwn([{ bold: '<!here>' }])).toBe('*&lt;!here&gt;*');
  });

  it('renders explicit mentions and safe links, and refuses unsafe ones', () => {
    expect(mrkdwn([{ mention: 'U0ABC' }])).toBe('<@U0ABC>');
    expect(mrkdwn([{ mention: '!channel' }])).toBe('@!channel');
    expect(mrkdwn([{ link: 'https://x.io/a', text: 'a|b>' }])).toBe('<https://x.io/a|a¦b&gt;>');
    expect(mrkdwn([{ link: 'javascript:alert(1)', text: 'click' }])).toBe('click');
  });

  it('truncates with an ellipsis without cutting an entity or a token in half', () => {
    expect(clip('abcdef', 4)).toBe('abc…');
    expect(clip(escapeMrkdwn('ab<cd'), 5)).toBe('ab…');
    expect(clip('x <@U123> y', 6)).toBe('x …');
  });
});

describe('messages', () => {
  it('keeps every payload within Block Kit limits: long text, many fields, many blocks, long labels', () => {
    const long = 'x'.repeat(5000);
    const msg: RichMessage = {
      summary: long,
      blocks: [
        { type: 'header', text: long },
        { type: 'text', text: [long] },
        { type: 'fields', fields: Array.from({ length: 14 }, (_, i) => ({ label: `f${i}`, value: [long] })) },
        { type: 'list', items: Array.from({ length: 200 }, (_, i) => [`item ${i} `, long.slice(0, 100)]) },
        ...Array.from({ length: 60 }, () => ({ type: 'divider' as const })),
        {
          type: 'actions',
          actions: Array.from({ length: 30 }, (_, i) => ({
            kind: 'page' as const,
            label: long,
            value: String(i),
          })),
        },
      ],
    };
    const out = renderMessage(msg, 'en');
    expect(validateSurface('message', { text: out.text, blocks: out.blocks })).toEqual([]);
    expect(out.blocks).toHaveLength(50);
    expect(JSON.stringify(out.blocks)).toContain('more not shown');
    // The trailing actions survive the cut; repeated kinds get distinct action ids.
    const last = out.blocks[out.blocks.length - 1]!;
    expect(last.type).toBe('actions');
    const ids = (last.elements as { action_id: string }[]).map((e) => e.action_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.every((id) => parseActionId(id) === 'page')).toBe(true);
  });

  it('zh-CN truncation notice', () => {
    const msg: RichMessage = {
      summary: 's',
      blocks: Array.from({ length: 60 }, () => ({ type: 'divider' as const })),
    };
    expect(JSON.stringify(renderMessage(msg, 'zh-CN').blocks)).toContain('另有 11 项未显示');
  });

  it('moves charts out of the blocks for upload, or explains them in private replies', () => {
    const image = {
      png: Buffer.from([1]),
      width: 1,
      height: 1,
      altText: 'Lead 3 <b>',
      title: 'Funnel',
      filename: 'funnel.png',
    };
    const posted = renderMessage({ summary: 's', blocks: [{ type: 'image', image }] }, 'en', {
      uploadImages: true,
    });
    expect(posted.images).toEqual([image]);
    expect(JSON.stringify(posted.blocks)).toContain('Lead 3 &lt;b&gt;');
    const ephemeral = renderMessage({ summary: 's', blocks: [{ type: 'image', image }] }, 'en');
    expect(ephemeral.images).toEqual([]);
    expect(JSON.stringify(ephemeral.blocks)).toContain('Chart: Funnel');
  });
});

const form: FormSpec = {
  id: 'deal_advance',
  title: 'Advance D-12 Very Long Deal Name Indeed',
  submitLabel: 'Save',
  state: JSON.stringify({ d: 'abc', v: 3 }),
  intro: [['Entry checklist for ', { bold: 'Proposal' }, ' <!channel>']],
  fields: [
    {
      name: 'stage',
      label: 'Move to stage',
      kind: 'select',
      required: true,
      initial: 'proposal',
      options: [
        { value: 'needs', label: 'Needs' },
        { value: 'proposal', label: 'Proposal' },
      ],
    },
    {
      name: 'checklist',
      label: 'Checklist',
      kind: 'checklist',
      required: false,
      initial: 'a',
      options: [
        { value: 'a', label: 'A'.repeat(200) },
        { value: 'b', label: 'B' },
      ],
    },
    { name: 'nextStep.text', label: 'Next step', kind: 'textarea', required: true, maxLength: 500 },
    { name: 'nextStep.due', label: 'Due', kind: 'date', required: false, initial: '2026-01-02' },
    { name: 'owner', label: 'Owner', kind: 'user', required: true, initial: 'U1' },
  ],
};

describe('modals', () => {
  it('renders a form as a valid modal carrying its state and the channel', () => {
    const modal = renderModal(form, 'en', 'C9');
    expect(validateSurface('modal', modal as unknown as Record<string, unknown>)).toEqual([]);
    expect(modal.callback_id).toBe('dp:form:deal_advance');
    expect([...modal.title.text].length).toBeLessThanOrEqual(24);
    expect(parseModalMeta(modal.private_metadata)).toEqual({ f: 'deal_advance', s: form.state, c: 'C9' });
    expect(modal.blocks[0]).toEqual({
      type: 'section',
      text: { type: 'mrkdwn', text: 'Entry checklist for *Proposal* &lt;!channel&gt;' },
    });
    const byId = Object.fromEntries(modal.blocks.filter((b) => b.block_id).map((b) => [b.block_id, b]));
    expect(byId.stage).toMatchObject({
      optional: false,
      element: { type: 'static_select', initial_option: { value: 'proposal' } },
    });
    expect(byId.checklist).toMatchObject({
      optional: true,
      element: { type: 'checkboxes', initial_options: [{ value: 'a' }] },
    });
    expect(byId['nextStep.text']).toMatchObject({
      element: { type: 'plain_text_input', multiline: true, max_length: 500 },
    });
    expect(byId['nextStep.due']).toMatchObject({
      element: { type: 'datepicker', initial_date: '2026-01-02' },
    });
    expect(byId.owner).toMatchObject({ element: { type: 'users_select', initial_user: 'U1' } });
    expect(renderModal(form, 'zh-CN').close.text).toBe('取消');
  });

  it('uses a multi-select for long checklists and caps selects at 100 options', () => {
    const many = Array.from({ length: 150 }, (_, i) => ({ value: `v${i}`, label: `Option ${i}` }));
    const modal = renderModal(
      {
        ...form,
        fields: [
          { name: 'c', label: 'C', kind: 'checklist', required: false, options: many },
          { name: 's', label: 'S', kind: 'select', required: true, options: many },
        ],
      },
      'en',
    );
    expect(validateSurface('modal', modal as unknown as Record<string, unknown>)).toEqual([]);
    expect(modal.blocks.find((b) => b.block_id === 'c')).toMatchObject({
      element: { type: 'multi_static_select' },
    });
  });

  it('reads submitted values by field name, whatever the element', () => {
    expect(
      formValues({
        stage: { v: { type: 'static_select', selected_option: { value: 'proposal' } } },
        checklist: { v: { type: 'checkboxes', selected_options: [{ value: 'a' }, { value: 'b' }] } },
        'nextStep.text': { v: { type: 'plain_text_input', value: 'Call' } },
        'nextStep.due': { v: { type: 'datepicker', selected_date: null } },
        owner: { v: { type: 'users_select', selected_user: 'U2' } },
      }),
    ).toEqual({
      stage: 'proposal',
      checklist: 'a,b',
      'nextStep.text': 'Call',
      'nextStep.due': '',
      owner: 'U2',
    });
  });

  it('maps field errors to input blocks; errors of no field go to the first input', () => {
    const blocks = renderModal(form, 'en').blocks;
    expect(viewErrors({ nextStep: 'Required.', _form: 'Stale form.', owner: 'Unknown.' }, blocks)).toEqual({
      'nextStep.text': 'Required.',
      stage: 'Stale form.',
      owner: 'Unknown.',
    });
  });
});
