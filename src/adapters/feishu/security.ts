/**
 * Checks on every HTTP request from Feishu, done on the raw request before the
 * SDK sees it:
 * - signature `X-Lark-Signature = sha256(timestamp + nonce + encryptKey + rawBody)` (hex)
 *   when an encrypt key is configured (Feishu signs every push then);
 * - decryption of `{"encrypt": "…"}` bodies: AES-256-CBC, key = sha256(encryptKey),
 *   IV = first 16 bytes of the base64 payload;
 * - the verification token: `header.token` (schema 2.0) or `token` (url_verification).
 *   The SDK does not check it for events, and for card callbacks its merge lets the
 *   card-update token overwrite it, so it is checked here on the original payload.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface SecurityOptions {
  verificationToken?: string | undefined;
  encryptKey?: string | undefined;
  /** The clock for the timestamp window (tests). */
  now?: () => number;
}

/** Signed requests older (or newer) than this are refused, as Slack does: a captured request cannot be replayed later. */
export const MAX_REQUEST_AGE_MS = 5 * 60_000;

export type Rejection =
  'bad_json' | 'bad_signature' | 'stale' | 'bad_token' | 'decrypt_failed' | 'not_encrypted';

export type Opened =
  { ok: true; payload: Record<string, unknown>; challenge?: string } | { ok: false; reason: Rejection };

const aesKey = (encryptKey: string): Buffer => createHash('sha256').update(encryptKey).digest();

export function decryptPayload(encrypt: string, encryptKey: string): string {
  const buf = Buffer.from(encrypt, 'base64');
  const decipher = createDecipheriv('aes-256-cbc', aesKey(encryptKey), buf.subarray(0, 16));
  return Buffer.concat([decipher.update(buf.subarray(16)), decipher.final()]).toString('utf8');
}

/** The inverse of decryptPayload, as Feishu encrypts (used by the tests' fake platform). */
export function encryptPayload(plain: string, encryptKey: string): string {
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-cbc', aesKey(encryptKey), iv);
  return Buffer.concat([iv, cipher.update(plain, 'utf8'), cipher.final()]).toString('base64');
}

export function signBody(timestamp: string, nonce: string, encryptKey: string, rawBody: string): string {
  return createHash('sha256')
    .update(timestamp + nonce + encryptKey + rawBody)
    .digest('hex');
}

export function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

const header = (h: IncomingHttpHeaders, name: string): string => {
  const v = h[name];
  return Array.isArray(v) ? (v[0] ?? '') : (v ?? '');
};

/**
 * Verifies and opens one request body. A url_verification request yields its
 * `challenge`; anything else yields the decrypted payload, ready for the SDK.
 */
export function openRequest(rawBody: string, headers: IncomingHttpHeaders, opts: SecurityOptions): Opened {
  let outer: unknown;
  try {
    outer = JSON.parse(rawBody);
  } catch {
    return { ok: false, reason: 'bad_json' };
  }
  if (typeof outer !== 'object' || outer === null || Array.isArray(outer))
    return { ok: false, reason: 'bad_json' };
  let payload = outer as Record<string, unknown>;
  const encrypted = typeof payload.encrypt === 'string';

  if (opts.encryptKey) {
    if (!encrypted) return { ok: false, reason: 'not_encrypted' };
    try {
      const inner: unknown = JSON.parse(decryptPayload(payload.encrypt as string, opts.encryptKey));
      if (typeof inner !== 'object' || inner === null) return { ok: false, reason: 'decrypt_failed' };
      payload = inner as Record<string, unknown>;
    } catch {
      return { ok: false, reason: 'decrypt_failed' };
    }
    // The URL check of the console is not signed; every event and callback is.
    if (payload.type !== 'url_verification') {
      const ts = header(headers, 'x-lark-request-timestamp');
      const nonce = header(headers, 'x-lark-request-nonce');
      const sig = header(headers, 'x-lark-signature');
      if (!ts || !nonce || !sig || !safeEqual(sig, signBody(ts, nonce, opts.encryptKey, rawBody)))
        return { ok: false, reason: 'bad_signature' };
      const age = (opts.now ?? Date.now)() - Number(ts) * 1000;
      if (!Number.isFinite(age) || Math.abs(age) > MAX_REQUEST_AGE_MS) return { ok: false, reason: 'stale' };
    }
  } else if (encrypted) {
    return { ok: false, reason: 'decrypt_failed' };
  }

  const head = payload.header as { token?: unknown } | undefined;
  const token =
    typeof head?.token === 'string' ? head.token : typeof payload.token === 'string' ? payload.token : '';
  if (opts.verificationToken && !safeEqual(token, opts.verificationToken))
    return { ok: false, reason: 'bad_token' };
  if (!opts.verificationToken) return { ok: false, reason: 'bad_token' };

  if (payload.type === 'url_verification')
    return { ok: true, payload, challenge: String(payload.challenge ?? '') };
  return { ok: true, payload };
}
