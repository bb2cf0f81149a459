/**
 * Session keys: the bearer form of a session, for what holds no cookie (a device, a CLI, a script). A key
 * is sealed under SESSION_KEY (AES-GCM, its own purpose as additional data): it names the account, so
 * that a request finds the account's store, and carries 256 random bits that the account keeps only as
 * their SHA-256. An altered or forged key is refused before any storage is touched; a stolen store holds
 * no usable key.
 */
import { base64url, open, seal, sha256, utf8 } from '../lib/mod.ts';
import type { SessionRef } from './sessions.ts';
import type { WebSettings } from './web-settings.ts';

/** Recognisable in a secret scanner's rules and in a support ticket, as GitHub's `ghp_` is. */
const PREFIX = 'etfsk_';
const PURPOSE = 'session-key/v1';
/** A sealed key is about 200 characters; anything much longer is not one. */
const MAX_KEY_LENGTH = 1024;

interface Payload {
  /** Home account id. */
  h: string;
  /** 32 random bytes, base64url. */
  s: string;
}

export interface NewSessionKey {
  /** What the device keeps, shown once. */
  key: string;
  /** What the account keeps. */
  keyHash: string;
}

export async function newSessionKey(web: WebSettings, homeAccountId: string): Promise<NewSessionKey> {
  const secret = base64url(crypto.getRandomValues(new Uint8Array(32)));
  const payload: Payload = { h: homeAccountId, s: secret };
  return { key: PREFIX + (await seal(web.sessionKey, PURPOSE, JSON.stringify(payload))), keyHash: await keyHashOf(secret) };
}

/** @returns the session the key names, or null for anything that is not a key of ours. */
export async function readSessionKey(web: WebSettings, key: string): Promise<SessionRef | null> {
  if (!key.startsWith(PREFIX) || key.length > MAX_KEY_LENGTH) return null;
  const text = await open(web.sessionKey, PURPOSE, key.slice(PREFIX.length));
  if (text === null) return null;
  let payload: Partial<Payload>;
  try {
    payload = JSON.parse(text) as Partial<Payload>;
  } catch {
    return null;
  }
  if (typeof payload.h !== 'string' || typeof payload.s !== 'string' || payload.s.length < 43) return null;
  return { hid: payload.h, sid: await keyHashOf(payload.s), kind: 'device' };
}

async function keyHashOf(secret: string): Promise<string> {
  return base64url(await sha256(utf8(secret)));
}
