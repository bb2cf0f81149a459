/**
 * Encryption at rest for cache values: AES-256-GCM under a key derived with HKDF-SHA-256 from
 * TOKEN_CACHE_KEY, with the storage key as additional authenticated data. A value that was altered, or
 * copied under another key, fails to open and reads as a miss — never as another entry.
 */
import { ClientConfigurationError } from '../errors.ts';
import { base64url, fromBase64url, fromUtf8, utf8 } from '../encoding.ts';

const IV_BYTES = 12;
const SALT = utf8('edge-token-functions/token-cache');
const INFO = utf8('aes-256-gcm/v1');
/** 32 characters: about 190 bits if random base64; anything shorter is a password, not a key. */
export const MIN_SECRET_LENGTH = 32;

/**
 * @param purpose separates keys derived from one secret (token cache, session cookies).
 */
export async function deriveSealingKey(secret: string, setting = 'TOKEN_CACHE_KEY', purpose = 'aes-256-gcm/v1'): Promise<CryptoKey> {
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new ClientConfigurationError(setting, `must be at least ${MIN_SECRET_LENGTH} characters of random data`);
  }
  const material = await crypto.subtle.importKey('raw', utf8(secret), 'HKDF', false, ['deriveKey']);
  return crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: SALT, info: purpose === 'aes-256-gcm/v1' ? INFO : utf8(purpose) },
    material,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt', 'decrypt'],
  );
}

export async function seal(key: CryptoKey, storageKey: string, plaintext: string): Promise<string> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const ciphertext = new Uint8Array(
    await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: utf8(storageKey) }, key, utf8(plaintext)),
  );
  const out = new Uint8Array(IV_BYTES + ciphertext.length);
  out.set(iv);
  out.set(ciphertext, IV_BYTES);
  return `v1.${base64url(out)}`;
}

/** @returns the plaintext, or null when the value is malformed, tampered with or bound to another key. */
export async function open(key: CryptoKey, storageKey: string, sealed: string): Promise<string | null> {
  if (!sealed.startsWith('v1.')) return null;
  const bytes = fromBase64url(sealed.slice(3));
  if (!bytes || bytes.length <= IV_BYTES + 16) return null;
  try {
    const plaintext = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: bytes.subarray(0, IV_BYTES), additionalData: utf8(storageKey) },
      key,
      bytes.subarray(IV_BYTES),
    );
    return fromUtf8(new Uint8Array(plaintext));
  } catch {
    return null;
  }
}
