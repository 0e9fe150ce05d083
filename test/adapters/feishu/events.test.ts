import { describe, expect, it } from 'vitest';
import { messageText } from '../../../src/adapters/feishu/events.js';
import { formValue } from '../../../src/adapters/feishu/cards.js';

const BOT = 'ou_bot';
const mentions = [
  { key: '@_user_1', id: { open_id: BOT }, name: 'DealPulse' },
  { key: '@_user_2', id: { open_id: 'ou_bob' }, name: 'Bob' },
];

describe('feishu message text', () => {
  it('strips the bot mention and turns other mentions into <@open_id> tokens', () => {
    const message = {
      message_id: 'om',
      chat_id: 'oc',
      message_type: 'text',
      content: JSON.stringify({ text: '@_user_1  分配 D-3 @_user_2 ' }),
      mentions,
    };
    expect(messageText(message, BOT)).toBe('分配 D-3 <@ou_bob>');
  });

  it('drops @all and leaves unknown placeholders alone', () => {
    const message = {
      message_id: 'om',
      chat_id: 'oc',
      message_type: 'text',
      content: JSON.stringify({ text: '@_all 列表 @_user_9' }),
      mentions,
    };
    expect(messageText(message, BOT)).toBe('列表 @_user_9');
  });

  it('reads rich-text (post) messages, with or without a language wrapper', () => {
    const body = [
      [
        { tag: 'at', user_id: '@_user_1' },
        { tag: 'text', text: ' 备注 D-3 ' },
      ],
      [
        { tag: 'text', text: '客户要求' },
        { tag: 'img', image_key: 'img_1' },
        { tag: 'at', user_id: '@_user_2' },
      ],
    ];
    const plain = {
      message_id: 'om',
      chat_id: 'oc',
      message_type: 'post',
      content: JSON.stringify({ title: '', content: body }),
      mentions,
    };
    expect(messageText(plain, BOT)).toBe('备注 D-3 客户要求 <@ou_bob>');
    const wrapped = { ...plain, content: JSON.stringify({ zh_cn: { title: '', content: body } }) };
    expect(messageText(wrapped, BOT)).toBe('备注 D-3 客户要求 <@ou_bob>');
  });

  it('returns undefined for images, files and unreadable content', () => {
    expect(
      messageText(
        { message_id: 'om', chat_id: 'oc', message_type: 'image', content: '{"image_key":"x"}' },
        BOT,
      ),
    ).toBeUndefined();
    expect(
      messageText({ message_id: 'om', chat_id: 'oc', message_type: 'text', content: '{oops' }, BOT),
    ).toBeUndefined();
  });
});

describe('feishu form values', () => {
  it('normalises what form components send back', () => {
    expect(formValue('2026-05-15 +0800')).toBe('2026-05-15');
    expect(formValue(['0', '2'])).toBe('0,2');
    expect(formValue(undefined)).toBe('');
    expect(formValue('ou_bob')).toBe('ou_bob');
    expect(formValue(12)).toBe('12');
  });
});
