import { randomUUID } from 'node:crypto';
import * as lark from '@larksuiteoapi/node-sdk';
import { describe, expect, it } from 'vitest';
import {
  decryptPayload,
  encryptPayload,
  openRequest,
  signBody,
} from '../../../src/adapters/feishu/security.js';
import { cardAction, ENCRYPT_KEY, messageEvent, VERIFICATION_TOKEN } from './fake-feishu.js';

const NOW = 1_700_000_000_000;
const opts = { verificationToken: VERIFICATION_TOKEN, encryptKey: ENCRYPT_KEY, now: () => NOW };

function signed(body: string, key = ENCRYPT_KEY, ts = String(NOW / 1000)) {
  const nonce = randomUUID();
  return {
    'x-lark-request-timestamp': ts,
    'x-lark-request-nonce': nonce,
    'x-lark-signature': signBody(ts, nonce, key, body),
  };
}

describe('feishu request security', () => {
  it('encrypts exactly like Feishu: the SDK decrypts our payloads and we decrypt its format', () => {
    const plain = JSON.stringify({ hello: '你好', n: 1 });
    expect(new lark.AESCipher(ENCRYPT_KEY).decrypt(encryptPayload(plain, ENCRYPT_KEY))).toBe(plain);
    expect(decryptPayload(encryptPayload(plain, ENCRYPT_KEY), ENCRYPT_KEY)).toBe(plain);
  });

  it('opens an encrypted, signed event with the right token', () => {
    const event = messageEvent({ text: '列表' });
    const body = JSON.stringify({ encrypt: encryptPayload(JSON.stringify(event), ENCRYPT_KEY) });
    const r = openRequest(body, signed(body), opts);
    expect(r).toEqual({ ok: true, payload: event });
  });

  it('rejects a bad signature, a missing signature and an unencrypted body when an encrypt key is set', () => {
    const body = JSON.stringify({
      encrypt: encryptPayload(JSON.stringify(messageEvent({ text: 'x' })), ENCRYPT_KEY),
    });
    expect(openRequest(body, signed(body, 'other-key'), opts)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    expect(openRequest(body, {}, opts)).toEqual({ ok: false, reason: 'bad_signature' });
    const plainBody = JSON.stringify(messageEvent({ text: 'x' }));
    expect(openRequest(plainBody, signed(plainBody), opts)).toEqual({ ok: false, reason: 'not_encrypted' });
    const garbage = JSON.stringify({ encrypt: 'bm90IGEgcmVhbCBwYXlsb2FkIGF0IGFsbCEhISEhISEh' });
    expect(openRequest(garbage, signed(garbage), opts)).toEqual({ ok: false, reason: 'decrypt_failed' });
  });

  it('refuses a correctly signed request more than 5 minutes old or ahead (a replay captured earlier)', () => {
    const body = JSON.stringify({
      encrypt: encryptPayload(JSON.stringify(messageEvent({ text: 'x' })), ENCRYPT_KEY),
    });
    const at = (secondsFromNow: number) => String(NOW / 1000 + secondsFromNow);
    expect(openRequest(body, signed(body, ENCRYPT_KEY, at(-299)), opts)).toMatchObject({ ok: true });
    expect(openRequest(body, signed(body, ENCRYPT_KEY, at(-301)), opts)).toEqual({
      ok: false,
      reason: 'stale',
    });
    expect(openRequest(body, signed(body, ENCRYPT_KEY, at(301)), opts)).toEqual({
      ok: false,
      reason: 'stale',
    });
    expect(openRequest(body, signed(body, ENCRYPT_KEY, 'yesterday'), opts)).toEqual({
      ok: false,
      reason: 'stale',
    });
  });

  it('checks the verification token of events, and of card callbacks on header.token (not the card-update token)', () => {
    const plainOpts = { verificationToken: VERIFICATION_TOKEN };
    expect(openRequest(JSON.stringify(messageEvent({ text: 'x', token: 'wrong' })), {}, plainOpts)).toEqual({
      ok: false,
      reason: 'bad_token',
    });
    const card = cardAction({ value: { a: 'advance', v: 'x' } });
    expect(openRequest(JSON.stringify(card), {}, plainOpts).ok).toBe(true);
    const forged = cardAction({ value: { a: 'advance', v: 'x' }, token: 'c-card-update-token' });
    expect(openRequest(JSON.stringify(forged), {}, plainOpts)).toEqual({ ok: false, reason: 'bad_token' });
    expect(openRequest('not json', {}, plainOpts)).toEqual({ ok: false, reason: 'bad_json' });
  });

  it('answers the URL check (plain and encrypted) only with the right token', () => {
    const check = { type: 'url_verification', challenge: 'ch-1', token: VERIFICATION_TOKEN };
    expect(openRequest(JSON.stringify(check), {}, { verificationToken: VERIFICATION_TOKEN })).toMatchObject({
      ok: true,
      challenge: 'ch-1',
    });
    const enc = JSON.stringify({ encrypt: encryptPayload(JSON.stringify(check), ENCRYPT_KEY) });
    expect(openRequest(enc, {}, opts)).toMatchObject({ ok: true, challenge: 'ch-1' });
    const bad = JSON.stringify({ ...check, token: 'nope' });
    expect(openRequest(bad, {}, { verificationToken: VERIFICATION_TOKEN })).toEqual({
      ok: false,
      reason: 'bad_token',
    });
  });
});
