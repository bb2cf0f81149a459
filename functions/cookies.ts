/**
 * The sign-in cookies: sealed (AES-GCM, the cookie name as additional data) so that a changed or
 * transplanted value is no value at all. `__Host-` + Secure + HttpOnly + Path=/, except on plain-http
 * localhost in development, where browsers would drop a Secure cookie.
 */
import { open, seal } from '../lib/mod.ts';
import type { WebSettings } from './web-settings.ts';

export type SameSite = 'Lax' | 'None' | 'Strict';

export function cookieName(web: WebSettings, base: string): string {
  return web.secureCookies ? `__Host-${base}` : base;
}

export async function sealedCookie(web: WebSettings, name: string, value: unknown, maxAgeSeconds: number, sameSite: SameSite): Promise<string> {
  const sealed = await seal(web.sessionKey, name, JSON.stringify(value));
  return serialize(web, name, sealed, maxAgeSeconds, sameSite);
}

export function clearedCookie(web: WebSettings, name: string, sameSite: SameSite = 'Lax'): string {
  return serialize(web, name, '', 0, sameSite);
}

/** @returns the cookie's value, or null when it is absent, altered, or sealed under another name. */
export async function readSealedCookie<T>(web: WebSettings, cookieHeader: string | undefined, name: string): Promise<T | null> {
  const raw = parseCookies(cookieHeader).get(name);
  if (raw === undefined || raw.length > 4096) return null;
  const text = await open(web.sessionKey, name, raw);
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

/** Names of the cookies in `cookieHeader` that start with `prefix`, each once, in the order sent. */
export function cookieNamesStartingWith(cookieHeader: string | undefined, prefix: string): string[] {
  return [...parseCookies(cookieHeader).keys()].filter((name) => name.startsWith(prefix));
}

function serialize(web: WebSettings, name: string, value: string, maxAgeSeconds: number, sameSite: SameSite): string {
  const parts = [`${name}=${value}`, 'Path=/', `Max-Age=${maxAgeSeconds}`, 'HttpOnly', `SameSite=${sameSite}`];
  // SameSite=None is only honoured with Secure; on http localhost it degrades to Lax in practice.
  if (web.secureCookies) parts.push('Secure');
  return parts.join('; ');
}

function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const index = part.indexOf('=');
    if (index <= 0) continue;
    const name = part.slice(0, index).trim();
    // The first occurrence wins, as browsers send the most specific cookie first.
    if (!cookies.has(name)) cookies.set(name, part.slice(index + 1).trim());
  }
  return cookies;
}
