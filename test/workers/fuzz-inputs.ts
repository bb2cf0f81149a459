/**
 * Input generation for the fuzz suite (fuzz.test.ts): a small seeded PRNG and one generator per route.
 * Every choice comes from the PRNG, so a seed fixes the sequence of requests; the only inputs not fixed
 * by it are the values the Worker hands out during the run (flow states, transaction cookies, tokens),
 * which the generators pick from pools by seeded index.
 */

import { mulberry32 } from './seeded-random.ts';


export class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  /** 0 ≤ n < max */
  int(max: number): number {
    return Math.floor(this.next() * max);
  }
  range(min: number, max: number): number {
    return min + this.int(max - min + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  weighted<T>(items: readonly (readonly [T, number])[]): T {
    const total = items.reduce((sum, [, w]) => sum + w, 0);
    let r = this.next() * total;
    for (const [item, w] of items) {
      r -= w;
      if (r < 0) return item;
    }
    return items[items.length - 1]![0];
  }
}

/** One generated request. `headers` values are byte strings (Latin-1), as on the wire. */
export interface FuzzRequest {
  /** The generator and its variant, for the report. */
  kind: string;
  method: string;
  /** Path and query, appended to the Worker's origin. */
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array | { stream: Uint8Array };
  /** Set when the request spends a real flow state (the pool entry is gone afterwards). */
  spendsState?: boolean;
}

/** What the run has obtained from the Worker, for valid-looking traffic. */
export interface FuzzPools {
  origin: string;
  issuer: string;
  /** Real caller keys (harness callers) for requests without cache bypass. */
  callerKeys: readonly { key: string; scopes: readonly string[] }[];
  /** A caller used only for cache-bypassing requests (claims, force_refresh): see fuzz.test.ts. */
  bypassCaller: { key: string; scopes: readonly string[] };
  spaScopes: readonly string[];
  /** `name=value` of the main signed-in session (never signed out by the fuzzer). */
  mainSession: string;
  /** `name=value` of expendable sessions (signed out, cache-bypassed by the fuzzer). */
  expendableSessions: string[];
  /** Real flow states with their transaction cookie (`name=value`), from /auth/login answers. */
  states: { state: string; cookie: string }[];
  /** Access tokens handed out in this run (user and app). */
  accessTokens: string[];
}

// ---------------------------------------------------------------------------------------------------
// Strings

/** Lone surrogates (fine in a JSON body) become U+FFFD where the text must be well-formed (URLs). */
export function wellFormed(text: string): string {
  return text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}

function encode(text: string): string {
  return encodeURIComponent(wellFormed(text));
}

const UNICODE = ['é', 'ß', 'ﬀ', '😀', '\u202e', '\u200b', '\u0301', '中文', 'İ', '\ufeff', '\u2028', '\uffff', '\ud800', 'Ω'];
const NASTY = [
  '', ' ', '0', '-1', 'null', 'undefined', 'true', 'false', 'NaN', '1e309', '9007199254740993',
  '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '__defineGetter__', 'valueOf',
  '{}', '[]', '"', "'", '\\', '%', '%00', '%zz', '%E0%A4%A', '%25', '%2f', '%5c', '\u0000', '\t', '\n',
  '../', '..%2f', '//evil.example', '\\\\evil.example', 'javascript:alert(1)', '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>', "' OR 1=1 --", '${jndi:ldap://x/a}', '{{7*7}}', 'a'.repeat(300),
  'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.', 'Bearer', 'v1.', 'v1.AAAA',
];

/** Printable ASCII. */
function ascii(rng: Rng, length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += String.fromCharCode(0x20 + rng.int(95));
  return out;
}

function alnum(rng: Rng, length: number, alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'): string {
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[rng.int(alphabet.length)];
  return out;
}

/** Any string: ASCII, unicode, nasty values, long ones. */
export function anyString(rng: Rng): string {
  return rng.weighted<() => string>([
    [() => rng.pick(NASTY), 4],
    [() => ascii(rng, rng.range(1, 40)), 3],
    [() => alnum(rng, rng.range(1, 64)), 2],
    [() => Array.from({ length: rng.range(1, 8) }, () => rng.pick(UNICODE)).join(''), 2],
    [() => rng.pick(['x', 'é', '%', '😀']).repeat(rng.range(1000, 20000)), 0.5],
  ])();
}

/** A mutation of a real value: truncated, flipped, doubled, padded, re-cased, encoded, or oversize. */
export function mutate(rng: Rng, value: string): string {
  const v = value;
  return rng.weighted<() => string>([
    [() => v.slice(0, rng.int(Math.max(1, v.length))), 3],
    [() => flipChar(rng, v), 4],
    [() => v + v, 1],
    [() => ` ${v} `, 1],
    [() => (rng.chance(0.5) ? v.toUpperCase() : v.toLowerCase()), 1],
    [() => encode(v), 1],
    [() => v + rng.pick(UNICODE), 1],
    [() => v + 'A'.repeat(rng.range(100, 6000)), 1],
    [() => v.slice(1), 1],
    [() => v.split('').reverse().join(''), 0.5],
    [() => '', 0.5],
  ])();
}

function flipChar(rng: Rng, v: string): string {
  if (v.length === 0) return 'x';
  const i = rng.int(v.length);
  const c = v.charCodeAt(i);
  const replacement = String.fromCharCode(c === 0x41 ? 0x42 : c ^ 1 || 0x41);
  return v.slice(0, i) + replacement + v.slice(i + 1);
}

/**
 * A header value: UTF-8, no CR/LF/NUL, and bytes over 0x7F percent-escaped. workerd prints a warning for
 * every header with non-ASCII bytes, so raw 8-bit values (`rawHeaderValue`) are kept to one rare variant.
 */
export function headerValue(text: string): string {
  return rawHeaderValue(text).replace(/[\x80-\xff]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** A header value as bytes on the wire: UTF-8 encoded then read as Latin-1, no CR/LF/NUL. */
export function rawHeaderValue(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let out = '';
  for (const b of bytes) out += b === 0x0d || b === 0x0a || b === 0x00 ? ' ' : String.fromCharCode(b);
  return out.trim();
}

// ---------------------------------------------------------------------------------------------------
// Shared pieces: client IPs, cookies, bodies

/**
 * CF-Connecting-IP. A spread of addresses (so that the per-IP sign-in limit rarely bites), a hot address
 * (so that it does), and malformed values. Never absent on the sign-in routes: the limit's key for a
 * request without it is shared with other test files.
 */
export function clientIp(rng: Rng): string {
  return rng.weighted<() => string>([
    [() => `198.18.${rng.int(8)}.${rng.int(32)}`, 81],
    [() => '198.19.255.254', 10],
    [() => `2001:db8:f022::${rng.int(0xffff).toString(16)}`, 5],
    [() => headerValue(`fuzz-${anyString(rng)}`).slice(0, 2000) || 'fuzz-empty', 3],
    [() => '198.18.0.1, 10.0.0.1', 1],
  ])();
}

const SESSION_COOKIE_NAME = '__Host-session';

function cookieValue(pair: string): string {
  return pair.slice(pair.indexOf('=') + 1);
}

/** A sealed-looking value: `v1.` + base64url of plausible length, under no key we know. */
function sealedLooking(rng: Rng): string {
  return `v1.${alnum(rng, rng.range(40, 200))}`;
}

/** Cookie header for a route that reads the session. */
export function sessionCookieHeader(rng: Rng, pools: FuzzPools, allowMain: boolean): { header?: string; variant: string } {
  const main = cookieValue(pools.mainSession);
  const variant = rng.weighted<string>([
    ['main', allowMain ? 30 : 0],
    ['main-mutated', 18],
    ['main-wrong-name', 4],
    ['expendable', pools.expendableSessions.length ? 6 : 0],
    ['txn-as-session', pools.states.length ? 3 : 0],
    ['sealed-looking', 8],
    ['garbage', 6],
    ['duplicate', 5],
    ['huge', 3],
    ['many', 3],
    ['proto', 3],
    ['none', 11],
  ]);
  let header: string | undefined;
  switch (variant) {
    case 'main':
      header = pools.mainSession;
      break;
    case 'main-mutated':
      header = `${SESSION_COOKIE_NAME}=${mutate(rng, main)}`;
      break;
    case 'main-wrong-name':
      header = `${rng.pick(['session', '__Host-Session', '__Secure-session', '__Host-txn-x', ' __Host-session '])}=${main}`;
      break;
    case 'expendable':
      header = rng.pick(pools.expendableSessions);
      break;
    case 'txn-as-session':
      header = `${SESSION_COOKIE_NAME}=${cookieValue(rng.pick(pools.states).cookie)}`;
      break;
    case 'sealed-looking':
      header = `${SESSION_COOKIE_NAME}=${sealedLooking(rng)}`;
      break;
    case 'garbage':
      header = `${SESSION_COOKIE_NAME}=${anyString(rng)}`;
      break;
    case 'duplicate':
      // First occurrence wins in the Worker: a garbage one before the real one, or the other way round.
      header = rng.chance(0.5) ? `${SESSION_COOKIE_NAME}=${sealedLooking(rng)}; ${pools.mainSession}` : `${pools.mainSession}; ${SESSION_COOKIE_NAME}=x`;
      if (!allowMain && header.startsWith(pools.mainSession)) header = `${SESSION_COOKIE_NAME}=x; ${pools.mainSession}`;
      break;
    case 'huge':
      header = `${SESSION_COOKIE_NAME}=${main}${'A'.repeat(rng.range(3000, 12000))}`;
      break;
    case 'many':
      header = Array.from({ length: rng.range(50, 300) }, (_, i) => `c${i}=${alnum(rng, 8)}`).join('; ') + (rng.chance(0.5) ? `; ${SESSION_COOKIE_NAME}=${main}` : '');
      break;
    case 'proto':
      header = `__proto__=${main}; constructor=1; ${SESSION_COOKIE_NAME}=${rng.chance(0.5) ? '' : '=='}; =x; ;;`;
      break;
  }
  return { ...(header !== undefined ? { header: headerValue(header) } : {}), variant };
}

/** A scopes value for a token request: real ones, mutated, and wrongly typed. */
function scopesValue(rng: Rng, real: readonly string[]): unknown {
  const scope = rng.pick(real);
  return rng.weighted<() => unknown>([
    [() => [scope], 30],
    [() => [...real], 4],
    [() => [scope.toUpperCase()], 3],
    [() => scope, 4],
    [() => [mutate(rng, scope)], 10],
    [() => [scope, scope], 3],
    [() => [scope, 'api://other/.default'], 3],
    [() => ['api://downstream/.default'], 3],
    [() => ['api://downstream/read'], 3],
    [() => ['openid', 'offline_access', scope], 2],
    [() => `${scope} ${scope}`, 1],
    [() => [], 2],
    [() => [''], 2],
    [() => [null], 1],
    [() => [1, true], 1],
    [() => [[scope]], 1],
    [() => ({ [scope]: true }), 1],
    [() => null, 1],
    [() => 42, 1],
    [() => [anyString(rng)], 4],
    [() => Array.from({ length: rng.range(20, 600) }, (_, i) => `api://s${i}/.default`), 1],
    [() => [scope + ' '.repeat(rng.range(1, 5))], 1],
    [() => [`${scope}\u0000`], 1],
  ])();
}

const VALID_CLAIMS = '{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}';

function claimsValue(rng: Rng): unknown {
  return rng.weighted<() => unknown>([
    [() => VALID_CLAIMS, 3],
    [() => '{}', 1],
    [() => 'not json', 1],
    [() => mutate(rng, VALID_CLAIMS), 2],
    [() => ({ access_token: {} }), 1],
    [() => 7, 1],
    [() => `{"x":"${'y'.repeat(rng.range(4000, 15000))}"}`, 1],
    [() => anyString(rng), 1],
  ])();
}

/**
 * A token-request body (JSON object first; mutated at the text level by `bodyText`). `bypass` is
 * whether it may ask for claims/force_refresh.
 */
function tokenRequestObject(rng: Rng, scopes: readonly string[], bypass: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (rng.chance(0.93)) out.scopes = scopesValue(rng, scopes);
  if (bypass && rng.chance(0.35)) out.claims = claimsValue(rng);
  if (bypass && rng.chance(0.7)) out.force_refresh = rng.pick<unknown>([true, true, true, 'true', 'true', 'TRUE', 1, 'yes', null, false]);
  if (!bypass && rng.chance(0.05)) out.force_refresh = rng.pick<unknown>([false, 'false', 0, null, 'no']);
  if (rng.chance(0.1)) out[rng.pick(['extra', 'scope', 'client_id', 'grant_type', 'toString', 'hasOwnProperty', 'valueOf'])] = anyString(rng);
  return out;
}

const CONTENT_TYPES: readonly (readonly [string | undefined, number])[] = [
  ['application/json', 55],
  ['application/json; charset=utf-8', 6],
  ['APPLICATION/JSON', 2],
  [' application/json ;charset=latin1', 1],
  ['application/x-www-form-urlencoded', 14],
  ['application/x-www-form-urlencoded; charset=UTF-8', 2],
  ['text/plain', 3],
  ['text/plain;charset=UTF-8', 1],
  ['multipart/form-data; boundary=----fuzz', 2],
  ['application/jsonx', 1],
  ['application/json, application/x-www-form-urlencoded', 1],
  ['application/*', 1],
  ['', 1],
  [undefined, 4],
  ['ap\u00e9plication/json', 1],
  ['RAW:application/json; charset=\u00e9', 0.3],
];

function formEncode(entries: [string, string][]): string {
  return entries.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&');
}

function formFromObject(rng: Rng, object: Record<string, unknown>): string {
  const entries: [string, string][] = [];
  for (const [k, v] of Object.entries(object)) {
    entries.push([k, Array.isArray(v) ? v.map(String).join(rng.chance(0.8) ? ' ' : ',') : typeof v === 'object' ? JSON.stringify(v) : String(v)]);
  }
  let text = formEncode(entries);
  const twist = rng.int(10);
  if (twist === 0 && entries[0]) text += `&${formEncode([entries[0]])}`; // duplicate parameter
  if (twist === 1) text = `__proto__=x&constructor=y&${text}`;
  if (twist === 2) text += '&%zz=%E0%A4%A&a=%';
  if (twist === 3) text = text.replace(/&/g, ';');
  if (twist === 4) text = `scopes[]=a&scopes[]=b&${text}`;
  if (twist === 5) text += `&scopes=${'%2B'.repeat(rng.range(10, 3000))}`;
  return text;
}

/** The JSON text of an object, then possibly broken: truncated, duplicate or prototype keys, odd syntax, oversize. */
function jsonText(rng: Rng, object: Record<string, unknown>): string {
  const text = JSON.stringify(object);
  const inner = text.slice(1, -1);
  return rng.weighted<() => string>([
    [() => text, 45],
    [() => text.slice(0, rng.int(text.length)), 6],
    [() => `{${inner}${inner ? ',' : ''}${inner}}`, 4], // every key twice
    [() => `{"scopes":["api://downstream/.default"],${inner ? inner + ',' : ''}"scopes":["api://other/.default"]}`, 3],
    [() => `{"__proto__":${text}}`, 3],
    [() => `{"__proto__":{"scopes":["api://downstream/.default"]},${inner}}`, 3],
    [() => `{"constructor":{"prototype":${text}},${inner}}`.replace(',}', '}'), 2],
    [() => `{${inner}${inner ? ',' : ''}"__proto__":null,"toString":1}`, 2],
    [() => `\ufeff${text}`, 1],
    [() => `${text} trailing`, 1],
    [() => text.replace(/"/g, "'"), 1],
    [() => `/*c*/${text}`, 1],
    [() => `{"scopes":NaN}`, 1],
    [() => rng.pick(['null', '[]', '"str"', '1', 'true', '', ' ', '{', '}', '[{}]', '{"":""}']), 4],
    [() => `${'['.repeat(rng.range(1000, 16000))}${']'.repeat(rng.range(0, 100))}`, 1],
    [() => `{"a":${'{"a":'.repeat(rng.range(500, 3000))}1${'}'.repeat(rng.range(0, 3000))}}`, 1],
    [() => `{"scopes":["${'x'.repeat(rng.range(15000, 17000))}"]}`, 2], // about the 16 KiB limit
    [() => JSON.stringify({ ...object, pad: 'p'.repeat(rng.range(17000, 300000)) }), 2],
    [() => JSON.stringify({ ...object, [rng.pick(UNICODE)]: rng.pick(UNICODE) }), 1],
  ])();
}

/** A body for a token-minting route, with its content type. */
export function tokenBody(rng: Rng, scopes: readonly string[], bypass: boolean): { headers: Record<string, string>; body?: FuzzRequest['body']; variant: string } {
  return encodedBody(rng, () => tokenRequestObject(rng, scopes, bypass));
}

/** The parameters `makeObject` draws, sent as JSON or a form (mutated at the text level), or as other bytes. */
function encodedBody(rng: Rng, makeObject: () => Record<string, unknown>): { headers: Record<string, string>; body?: FuzzRequest['body']; variant: string } {
  const type = rng.weighted(CONTENT_TYPES);
  const object = makeObject();
  const form = type !== undefined && type.toLowerCase().includes('form-urlencoded');
  let text = form ? formFromObject(rng, object) : jsonText(rng, object);
  const shape = rng.weighted<string>([['plain', 88], ['bytes', 4], ['stream', 5], ['empty', 3]]);
  // The one place with raw 8-bit bytes in a header (see headerValue): a rare content type.
  const headers: Record<string, string> = type === undefined ? {} : { 'content-type': type.startsWith('RAW:') ? rawHeaderValue(type.slice(4)) : headerValue(type) };
  if (shape === 'empty') return { headers, variant: `${form ? 'form' : 'json'}/empty` };
  if (shape === 'bytes') {
    const bytes = new Uint8Array(rng.range(1, 4096));
    for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256);
    return { headers, body: bytes, variant: 'bytes' };
  }
  if (shape === 'stream') {
    if (rng.chance(0.4)) text += ' '.repeat(rng.range(17000, 70000));
    return { headers, body: { stream: new TextEncoder().encode(text) }, variant: `${form ? 'form' : 'json'}/stream` };
  }
  return { headers, body: text, variant: form ? 'form' : 'json' };
}

/** A random query string: nasty values, duplicates, prototype keys, bad escapes. */
function randomQuery(rng: Rng): string {
  if (rng.chance(0.4)) return '';
  const parts: string[] = [];
  for (let i = rng.range(1, 5); i > 0; i--) {
    const key = rng.chance(0.3) ? rng.pick(['__proto__', 'constructor', 'returnTo', 'state', 'code', 'a', 'a']) : alnum(rng, rng.range(1, 8));
    parts.push(`${key}=${rng.chance(0.8) ? encode(anyString(rng)) : rng.pick(['%', '%zz', '%E0%A4', '%00', '+', '&&', '=='])}`);
  }
  return `?${parts.join('&')}`;
}

/** Headers any request may carry on top of its own. */
function noiseHeaders(rng: Rng, headers: Record<string, string>): void {
  if (rng.chance(0.05)) headers['x-forwarded-for'] = headerValue(anyString(rng)).slice(0, 500) || '1.1.1.1';
  if (rng.chance(0.03)) headers['x-fuzz'] = 'v'.repeat(rng.range(1000, 8000));
  if (rng.chance(0.03)) headers['accept'] = headerValue(rng.pick(['*/*', 'text/html', 'application/json', anyString(rng)])) || '*/*';
  if (rng.chance(0.02)) headers['host'] = 'evil.example';
  if (rng.chance(0.02)) headers['x-http-method-override'] = rng.pick(['DELETE', 'PUT', 'GET']);
  if (rng.chance(0.02)) headers['transfer-encoding'] = 'chunked';
  if (rng.chance(0.03)) headers['accept-encoding'] = 'gzip, br';
}

function origin(rng: Rng, pools: FuzzPools, validShare: number): string | undefined {
  if (rng.chance(validShare)) return pools.origin;
  return rng.weighted<() => string | undefined>([
    [() => undefined, 3],
    [() => 'null', 2],
    [() => 'https://evil.example', 2],
    [() => `${pools.origin}.evil.example`, 1],
    [() => pools.origin.toUpperCase(), 1],
    [() => `${pools.origin}/`, 1],
    [() => `${pools.origin}:443`, 1],
    [() => pools.origin.replace('https', 'http'), 1],
    [() => `${pools.origin}, https://evil.example`, 1],
    [() => headerValue(anyString(rng)), 1],
  ])();
}

// ---------------------------------------------------------------------------------------------------
// Route generators

const METHODS_OTHER = ['PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND', 'PURGE', 'REPORT', 'post', 'get', 'Patch'];

function bearer(rng: Rng, pools: FuzzPools, realKey: string, bypass: boolean): { header?: string; variant: string } {
  const variant = rng.weighted<string>([
    ['real', 55], ['mutated', 14], ['other-caller', 4], ['lowercase-scheme', 2], ['no-space', 1], ['double', 2],
    ['basic', 2], ['empty', 2], ['huge', 2], ['unicode', 2], ['jwt', 3], ['garbage', 4], ['none', 7],
  ]);
  const headerFor: Record<string, () => string | undefined> = {
    real: () => `Bearer ${realKey}`,
    mutated: () => `Bearer ${mutate(rng, realKey)}`,
    'other-caller': () => `Bearer ${bypass ? pools.bypassCaller.key : rng.pick(pools.callerKeys).key}`,
    'lowercase-scheme': () => `bearer ${realKey}`,
    'no-space': () => `Bearer${realKey}`,
    double: () => `Bearer ${realKey}, Bearer ${mutate(rng, realKey)}`,
    basic: () => `Basic ${btoa(`${realKey}:x`)}`,
    empty: () => rng.pick(['', 'Bearer', 'Bearer ', ' ']),
    huge: () => `Bearer ${'k'.repeat(rng.range(500, 20000))}`,
    unicode: () => `Bearer ${realKey}${rng.pick(UNICODE)}`,
    jwt: () => `Bearer ${pools.accessTokens.length && rng.chance(0.6) ? rng.pick(pools.accessTokens) : 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'}`,
    garbage: () => headerValue(anyString(rng)),
    none: () => undefined,
  };
  const value = headerFor[variant]!();
  return { ...(value !== undefined ? { header: headerValue(value) } : {}), variant };
}

function tokenClient(rng: Rng, pools: FuzzPools): FuzzRequest {
  // Cache-bypassing requests go under the bypass caller only (its rate-limit key is this suite's own).
  const bypass = rng.chance(0.25);
  const caller = bypass ? pools.bypassCaller : rng.pick(pools.callerKeys);
  const auth = bearer(rng, pools, caller.key, bypass);
  const body = tokenBody(rng, caller.scopes, bypass);
  const headers: Record<string, string> = { ...body.headers };
  if (auth.header !== undefined) headers.authorization = auth.header;
  if (rng.chance(0.5)) headers['cf-connecting-ip'] = clientIp(rng);
  const method = rng.chance(0.95) ? 'POST' : rng.pick(METHODS_OTHER);
  return { kind: `token-client/${auth.variant}/${body.variant}${bypass ? '/bypass' : ''}`, method, path: `/token/client${rng.chance(0.1) ? randomQuery(rng) : ''}`, headers, ...(body.body !== undefined ? { body: body.body } : {}) };
}

/** returnTo values: good paths, and the attacks of issue 7 item 1. */
export function returnTo(rng: Rng): string | undefined {
  return rng.weighted<() => string | undefined>([
    [() => undefined, 5],
    [() => '/', 5],
    [() => `/${alnum(rng, rng.range(1, 20))}?x=${alnum(rng, 4)}#h`, 5],
    [() => rng.pick(['//evil.example', '/\\evil.example', '\\\\evil.example', 'https://evil.example/', '/%2f%2fevil.example', '/%5cevil.example', '/%252f%252fevil.example', '/\t/evil.example', '/./\\evil', '/../../evil', 'javascript:alert(1)', '/ /evil', '/\u3002evil', '/%09/evil', '//%09evil', '/.//evil', 'http:evil.example']), 8],
    [() => `/${anyString(rng)}`, 4],
    [() => anyString(rng), 3],
    [() => `/${'a'.repeat(rng.range(2000, 2100))}`, 1],
  ])();
}

function query(entries: [string, string][]): string {
  return entries.length ? `?${entries.map(([k, v]) => `${encode(k)}=${encode(v)}`).join('&')}` : '';
}

function authLogin(rng: Rng, pools: FuzzPools): FuzzRequest {
  const entries: [string, string][] = [];
  const target = returnTo(rng);
  if (target !== undefined) entries.push(['returnTo', target]);
  if (rng.chance(0.08)) entries.push(['returnTo', rng.pick(['/', '//evil.example', '/other'])]);
  if (rng.chance(0.2)) entries.push(['response_mode', rng.pick(['form_post', 'query', 'fragment', 'FORM_POST', anyString(rng)])]);
  if (rng.chance(0.15)) entries.push(['prompt', rng.pick(['login', 'none', 'consent', 'select_account', anyString(rng)])]);
  if (rng.chance(0.15)) entries.push(['login_hint', rng.chance(0.7) ? 'alice@contoso.test' : anyString(rng)]);
  if (rng.chance(0.1)) entries.push(['domain_hint', anyString(rng)]);
  if (rng.chance(0.05)) entries.push([rng.pick(['__proto__', 'constructor', 'state', 'nonce', 'redirect_uri', 'scope']), anyString(rng)]);
  let path = `/auth/login${query(entries)}`;
  if (rng.chance(0.05)) path += rng.pick(['&returnTo', '&=', '&%zz=1', '&returnTo=%', '#frag']);
  const headers: Record<string, string> = { 'cf-connecting-ip': clientIp(rng) };
  if (rng.chance(0.2)) {
    const cookie = sessionCookieHeader(rng, pools, true);
    if (cookie.header) headers.cookie = cookie.header;
  }
  noiseHeaders(rng, headers);
  const method = rng.chance(0.93) ? 'GET' : rng.pick(['HEAD', 'POST', 'PUT', 'OPTIONS']);
  return { kind: 'auth-login', method, path, headers };
}

/** Parameters of a callback: a real state (spent) or mutated/garbage, with a code, iss, errors. */
function callbackParams(rng: Rng, pools: FuzzPools): { entries: [string, string][]; cookie?: string; variant: string; spends: boolean } {
  const entries: [string, string][] = [];
  let cookie: string | undefined;
  let spends = false;
  const stateVariant = rng.weighted<string>([
    ['real', pools.states.length ? 40 : 0], ['real-other-cookie', pools.states.length > 1 ? 6 : 0], ['real-mutated', pools.states.length ? 12 : 0],
    ['format-ok', 14], ['garbage', 14], ['none', 6], ['twice', pools.states.length ? 8 : 0],
  ]);
  const take = () => {
    const index = rng.int(pools.states.length);
    return pools.states.splice(index, 1)[0]!;
  };
  switch (stateVariant) {
    case 'real': {
      const s = take();
      spends = true;
      entries.push(['state', s.state]);
      cookie = rng.chance(0.85) ? s.cookie : `${s.cookie.slice(0, s.cookie.indexOf('='))}=${mutate(rng, cookieValue(s.cookie))}`;
      break;
    }
    case 'real-other-cookie': {
      const s = pools.states[rng.int(pools.states.length)]!;
      const other = pools.states[rng.int(pools.states.length)]!;
      entries.push(['state', s.state]);
      cookie = `${s.cookie.slice(0, s.cookie.indexOf('='))}=${cookieValue(other.cookie)}`;
      break;
    }
    case 'real-mutated': {
      const s = pools.states[rng.int(pools.states.length)]!;
      entries.push(['state', mutate(rng, s.state)]);
      cookie = s.cookie;
      break;
    }
    case 'format-ok': {
      const state = alnum(rng, rng.range(16, 128));
      entries.push(['state', state]);
      if (rng.chance(0.7)) cookie = `__Host-txn-${state.slice(0, 16)}=${sealedLooking(rng)}`;
      break;
    }
    case 'garbage':
      entries.push(['state', anyString(rng)]);
      break;
    case 'twice': {
      const s = take();
      spends = true;
      entries.push(['state', s.state], ['state', rng.chance(0.5) ? s.state : alnum(rng, 32)]);
      cookie = s.cookie;
      break;
    }
  }
  const codeVariant = rng.weighted<string>([['garbage', 50], ['none', 10], ['empty', 5], ['twice', 8], ['huge', 4], ['error', 15], ['jwt', 3]]);
  if (codeVariant === 'garbage') entries.push(['code', alnum(rng, rng.range(8, 80))]);
  if (codeVariant === 'empty') entries.push(['code', '']);
  if (codeVariant === 'twice') entries.push(['code', alnum(rng, 43)], ['code', alnum(rng, 43)]);
  if (codeVariant === 'huge') entries.push(['code', 'c'.repeat(rng.range(3000, 20000))]);
  if (codeVariant === 'jwt') entries.push(['code', pools.accessTokens.length ? rng.pick(pools.accessTokens) : 'eyJ.x.y']);
  if (codeVariant === 'error') {
    entries.push(['error', rng.pick(['access_denied', 'interaction_required', 'server_error', 'temporarily_unavailable', anyString(rng)])]);
    if (rng.chance(0.7)) entries.push(['error_description', anyString(rng)]);
    if (rng.chance(0.2)) entries.push(['error_uri', 'javascript:alert(1)']);
  }
  const issVariant = rng.weighted<string>([['real', 55], ['none', 15], ['mutated', 15], ['twice', 5], ['garbage', 10]]);
  if (issVariant === 'real') entries.push(['iss', pools.issuer]);
  if (issVariant === 'mutated') entries.push(['iss', mutate(rng, pools.issuer)]);
  if (issVariant === 'twice') entries.push(['iss', pools.issuer], ['iss', 'https://evil.example']);
  if (issVariant === 'garbage') entries.push(['iss', anyString(rng)]);
  if (rng.chance(0.1)) entries.push([rng.pick(['__proto__', 'constructor', 'session_state', 'client_info', 'id_token']), anyString(rng)]);
  if (rng.chance(0.15)) {
    // Reorder: parameters need not come in the provider's order.
    for (let i = entries.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [entries[i], entries[j]] = [entries[j]!, entries[i]!];
    }
  }
  if (rng.chance(0.15)) {
    const extra = sessionCookieHeader(rng, pools, true);
    if (extra.header) cookie = cookie ? `${cookie}; ${extra.header}` : extra.header;
  }
  if (rng.chance(0.04)) cookie = `${cookie ?? ''}; ${'z'.repeat(rng.range(4000, 9000))}=1`;
  return { entries, ...(cookie !== undefined ? { cookie: headerValue(cookie) } : {}), variant: `${stateVariant}/${codeVariant}/${issVariant}`, spends };
}

function authCallbackGet(rng: Rng, pools: FuzzPools): FuzzRequest {
  const { entries, cookie, variant, spends } = callbackParams(rng, pools);
  const headers: Record<string, string> = { 'cf-connecting-ip': clientIp(rng) };
  if (cookie) headers.cookie = cookie;
  noiseHeaders(rng, headers);
  let path = `/auth/callback${query(entries)}`;
  if (rng.chance(0.04)) path += rng.pick(['&%zz', '&state', '&&&', '#code=x']);
  const method = rng.chance(0.96) ? 'GET' : rng.pick(['HEAD', 'PUT', 'DELETE']);
  return { kind: `auth-callback-get/${variant}`, method, path, headers, spendsState: spends };
}

function authCallbackPost(rng: Rng, pools: FuzzPools): FuzzRequest {
  const { entries, cookie, variant, spends } = callbackParams(rng, pools);
  const headers: Record<string, string> = { 'cf-connecting-ip': clientIp(rng) };
  if (cookie) headers.cookie = cookie;
  const o = origin(rng, pools, 0.2);
  headers.origin = rng.chance(0.6) ? 'http://127.0.0.1' : o ?? 'null';
  const type = rng.weighted<string>([['form', 70], ['json', 15], ['other', 15]]);
  let body: FuzzRequest['body'];
  if (type === 'form') {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = formEncode(entries);
    if (rng.chance(0.1)) body += rng.pick(['&%zz=1', '&__proto__=1', '&state=' + alnum(rng, 20), '&' + 'p'.repeat(rng.range(16000, 40000))]);
  } else if (type === 'json') {
    headers['content-type'] = 'application/json';
    const object: Record<string, unknown> = {};
    for (const [k, v] of entries) object[k] = rng.chance(0.1) ? [v] : v;
    body = jsonText(rng, object);
  } else {
    const ct = rng.weighted(CONTENT_TYPES);
    if (ct !== undefined) headers['content-type'] = headerValue(ct.replace(/^RAW:/, ''));
    body = rng.chance(0.5) ? formEncode(entries) : anyString(rng);
  }
  noiseHeaders(rng, headers);
  return { kind: `auth-callback-post/${type}/${variant}`, method: 'POST', path: `/auth/callback${rng.chance(0.1) ? randomQuery(rng) : ''}`, headers, body, spendsState: spends };
}

function authMe(rng: Rng, pools: FuzzPools): FuzzRequest {
  const cookie = sessionCookieHeader(rng, pools, true);
  const headers: Record<string, string> = {};
  if (cookie.header) headers.cookie = cookie.header;
  if (rng.chance(0.3)) headers['cf-connecting-ip'] = clientIp(rng);
  noiseHeaders(rng, headers);
  const method = rng.chance(0.93) ? 'GET' : rng.pick(METHODS_OTHER);
  return { kind: `auth-me/${cookie.variant}`, method, path: `/auth/me${randomQuery(rng)}`, headers };
}

function authToken(rng: Rng, pools: FuzzPools): FuzzRequest {
  // A real session never asks to bypass the cache: the account's rate-limit bucket (per home account
  // id) is shared with the other test files, which sign in the same two users. Cache-bypassing
  // parameters go with mutated and foreign cookies only.
  const expendable = pools.expendableSessions.length > 0 && rng.chance(0.05);
  const cookie = expendable ? { header: rng.pick(pools.expendableSessions), variant: 'expendable' } : sessionCookieHeader(rng, pools, true);
  const header = cookie.header ?? '';
  const mayBypass = ![pools.mainSession, ...pools.expendableSessions].some((pair) => header.includes(cookieValue(pair)));
  const body = tokenBody(rng, pools.spaScopes, mayBypass && rng.chance(0.5));
  const headers: Record<string, string> = { ...body.headers };
  if (cookie.header) headers.cookie = cookie.header;
  const o = origin(rng, pools, 0.75);
  if (o !== undefined) headers.origin = headerValue(o);
  if (rng.chance(0.85)) headers['x-requested-with'] = rng.chance(0.9) ? 'fetch' : headerValue(anyString(rng)) || 'x';
  if (rng.chance(0.3)) headers['cf-connecting-ip'] = clientIp(rng);
  noiseHeaders(rng, headers);
  const method = rng.chance(0.95) ? 'POST' : rng.pick(METHODS_OTHER);
  return { kind: `auth-token/${cookie.variant}/${body.variant}`, method, path: `/auth/token${rng.chance(0.05) ? randomQuery(rng) : ''}`, headers, ...(body.body !== undefined ? { body: body.body } : {}) };
}

function authLogout(rng: Rng, pools: FuzzPools): FuzzRequest {
  const cookie = sessionCookieHeader(rng, pools, true);
  const headers: Record<string, string> = {};
  let o = origin(rng, pools, 0.5);
  // The main session is never signed out by the fuzzer: with it, the origin is always a wrong one.
  if (cookie.header?.includes(cookieValue(pools.mainSession)) && o === pools.origin) o = 'https://evil.example';
  if (cookie.header) headers.cookie = cookie.header;
  if (o !== undefined) headers.origin = headerValue(o);
  if (rng.chance(0.3)) {
    const body = tokenBody(rng, pools.spaScopes, false);
    Object.assign(headers, body.headers);
    if (rng.chance(0.3)) headers['cf-connecting-ip'] = clientIp(rng);
    noiseHeaders(rng, headers);
    return { kind: `auth-logout/${cookie.variant}/${body.variant}`, method: 'POST', path: '/auth/logout', headers, ...(body.body !== undefined ? { body: body.body } : {}) };
  }
  noiseHeaders(rng, headers);
  const method = rng.chance(0.93) ? 'POST' : rng.pick(METHODS_OTHER.filter((m) => m !== 'post'));
  return { kind: `auth-logout/${cookie.variant}`, method, path: `/auth/logout${rng.chance(0.1) ? randomQuery(rng) : ''}`, headers };
}

function staticPage(rng: Rng, pools: FuzzPools, path: '/' | '/demo.js'): FuzzRequest {
  const headers: Record<string, string> = {};
  if (rng.chance(0.3)) {
    const cookie = sessionCookieHeader(rng, pools, true);
    if (cookie.header) headers.cookie = cookie.header;
  }
  if (rng.chance(0.2)) headers.authorization = headerValue(`Bearer ${anyString(rng)}`);
  noiseHeaders(rng, headers);
  const method = rng.chance(0.85) ? 'GET' : rng.pick(['HEAD', ...METHODS_OTHER]);
  return { kind: `static${path}`, method, path: `${path}${randomQuery(rng)}`, headers };
}

/** A JWT with its parts tampered with: header alg, payload claims, signature bytes. */
function tamperedJwt(rng: Rng, token: string): string {
  const [h = '', p = '', s = ''] = token.split('.');
  const b64url = (text: string) => btoa(rawHeaderValue(text)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  const b64 = (o: unknown) => b64url(JSON.stringify(o));
  const decode = (part: string): Record<string, unknown> => {
    try {
      return JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (part.length % 4)) % 4))) as Record<string, unknown>;
    } catch {
      return {};
    }
  };
  return rng.weighted<() => string>([
    [() => `${h}.${p}.${flipChar(rng, s)}`, 3],
    [() => `${b64({ ...decode(h), alg: 'none' })}.${p}.`, 2],
    [() => `${b64({ ...decode(h), alg: 'HS256' })}.${p}.${s}`, 2],
    [() => `${b64({ ...decode(h), kid: alnum(rng, 20) })}.${p}.${s}`, 1],
    [() => `${h}.${b64({ ...decode(p), aud: 'api://other' })}.${s}`, 2],
    [() => `${h}.${b64({ ...decode(p), exp: 1 })}.${s}`, 1],
    [() => `${h}.${b64url(`{"__proto__":{"admin":true},"constructor":1,${JSON.stringify(decode(p)).slice(1)}`)}.${s}`, 1],
    [() => `${h}.${p}`, 1],
    [() => `${h}.${p}.${s}.${s}`, 1],
    [() => `${h}..${s}`, 1],
    [() => `${b64('not an object')}.${p}.${s}`, 1],
    [() => `${'e'.repeat(rng.range(100, 9000))}.${p}.${s}`, 1],
  ])();
}

function apiDemo(rng: Rng, pools: FuzzPools): FuzzRequest {
  const token = pools.accessTokens.length ? rng.pick(pools.accessTokens) : 'eyJhbGciOiJSUzI1NiJ9.e30.sig';
  const variant = rng.weighted<string>([['real', 20], ['tampered', 45], ['garbage', 15], ['scheme', 8], ['none', 7], ['huge', 5]]);
  const headers: Record<string, string> = {};
  if (variant === 'real') headers.authorization = `Bearer ${token}`;
  if (variant === 'tampered') headers.authorization = `Bearer ${tamperedJwt(rng, token)}`;
  if (variant === 'garbage') headers.authorization = headerValue(`Bearer ${anyString(rng)}`);
  if (variant === 'scheme') headers.authorization = rng.pick([`bearer ${token}`, `Bearer  ${token}`, `Basic ${token}`, token, `Bearer ${token} x`, `Bearer ${token}==`]);
  if (variant === 'huge') headers.authorization = `Bearer ${token}${'A'.repeat(rng.range(1000, 30000))}`;
  if (rng.chance(0.1)) {
    const cookie = sessionCookieHeader(rng, pools, true);
    if (cookie.header) headers.cookie = cookie.header;
  }
  noiseHeaders(rng, headers);
  const method = rng.chance(0.92) ? 'GET' : rng.pick(['HEAD', ...METHODS_OTHER]);
  return { kind: `api-demo/${variant}`, method, path: `/api/demo${rng.chance(0.2) ? randomQuery(rng) : ''}`, headers };
}

/** /token/obo and /api/profile: the bearer is a user's token for this API, mutated; bodies as /token/client's. */
function onBehalfOf(rng: Rng, pools: FuzzPools): FuzzRequest {
  const request = apiDemo(rng, pools);
  if (rng.chance(0.4)) return { ...request, kind: request.kind.replace('api-demo', 'api-profile'), path: request.path.replace('/api/demo', '/api/profile') };
  const method = rng.chance(0.9) ? 'POST' : rng.pick(['GET', ...METHODS_OTHER]);
  const body = method === 'GET' || method === 'HEAD' ? undefined : tokenBody(rng, ['api://downstream/read'], rng.chance(0.2));
  const headers = { ...request.headers, ...(body?.headers ?? {}) };
  return { kind: request.kind.replace('api-demo', 'token-obo'), method, path: `/token/obo${rng.chance(0.1) ? randomQuery(rng) : ''}`, headers, ...(body?.body !== undefined ? { body: body.body } : {}) };
}

/** A user name no test signs in with: generated traffic must not spend a real user's per-user password limit. */
function fuzzUsername(rng: Rng): string {
  return rng.weighted<() => string>([
    [() => `fuzz-${alnum(rng, rng.range(1, 12))}@contoso.test`, 6],
    [() => ` FUZZ-user@Contoso.test `, 1],
    [() => anyString(rng), 3],
  ])();
}

/**
 * An MSAL-cache-looking value: entities of this provider's `environment` (host) or others, sections of the
 * wrong type, entries that are not entities, or text.
 */
function msalCacheValue(rng: Rng, environment: string): unknown {
  const entity = () => ({
    home_account_id: rng.pick(['a.b', anyString(rng)]),
    environment: rng.pick([environment, environment, 'login.windows.net', anyString(rng)]),
    realm: 'b',
    local_account_id: 'a',
    username: anyString(rng),
    secret: alnum(rng, 40),
    client_id: rng.pick(['web-app', anyString(rng)]),
    target: rng.pick(['api://downstream/read', anyString(rng)]),
    cached_at: rng.pick(['1', 'x']),
    expires_on: '1',
  });
  return rng.weighted<() => unknown>([
    [() => ({ Account: { a: entity() }, RefreshToken: { r: entity() }, AccessToken: { t: entity() } }), 4],
    [() => JSON.stringify({ Account: { a: entity() }, RefreshToken: { r: entity() } }), 3],
    [() => ({ Account: rng.pick<unknown>([[], null, 1, 'x', { a: null }, { a: [] }]), RefreshToken: { r: null } }), 3],
    [() => ({ Account: Object.fromEntries(Array.from({ length: rng.range(11, 60) }, (_, i) => [`a${i}`, { ...entity(), home_account_id: `${i}.b` }])) }), 1],
    [() => rng.pick<unknown>([{}, [], null, 0, true, '', '{', '[]', 'null']), 3],
    [() => anyString(rng), 2],
  ])();
}

/** /token/password: user names of no real user, passwords of anything. */
function passwordObject(rng: Rng): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (rng.chance(0.9)) out.username = rng.chance(0.9) ? fuzzUsername(rng) : rng.pick<unknown>([null, 1, ['x'], {}]);
  if (rng.chance(0.9)) out.password = rng.chance(0.9) ? anyString(rng) : rng.pick<unknown>([null, 1, ['x'], {}]);
  if (rng.chance(0.9)) out.scopes = scopesValue(rng, ['api://downstream/read']);
  if (rng.chance(0.1)) out.claims = claimsValue(rng);
  return out;
}

/** /accounts/import: a refresh token, an MSAL cache, both or neither. */
function importObject(rng: Rng, environment: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const form = rng.weighted<string>([['token', 45], ['cache', 45], ['both', 5], ['neither', 5]]);
  if (form === 'token' || form === 'both') out.refresh_token = rng.chance(0.85) ? rng.pick([alnum(rng, rng.range(20, 200)), anyString(rng)]) : rng.pick<unknown>([null, 1, [], {}]);
  if (form === 'cache' || form === 'both') out.msal_cache = msalCacheValue(rng, environment);
  if (form === 'token' ? rng.chance(0.9) : rng.chance(0.3)) out.scopes = scopesValue(rng, ['api://downstream/read']);
  return out;
}

/**
 * A body for /token/password or /accounts/import, with its content type; also used on its own by the
 * route tests (password-route.test.ts, account-import.test.ts), whose callers have the grants.
 */
export function headlessBody(
  rng: Rng,
  path: '/token/password' | '/accounts/import',
  environment: string,
): { headers: Record<string, string>; body?: FuzzRequest['body']; variant: string } {
  return encodedBody(rng, () => (path === '/token/password' ? passwordObject(rng) : importObject(rng, environment)));
}

/** The headless sign-ins by callers, /token/password and /accounts/import: authenticated like /token/client. */
function headless(rng: Rng, pools: FuzzPools): FuzzRequest {
  const password = rng.chance(0.5);
  const caller = rng.pick(pools.callerKeys);
  const auth = bearer(rng, pools, caller.key, false);
  const body = headlessBody(rng, password ? '/token/password' : '/accounts/import', new URL(pools.issuer).host);
  const headers: Record<string, string> = { ...body.headers };
  if (auth.header !== undefined) headers.authorization = auth.header;
  noiseHeaders(rng, headers);
  const method = rng.chance(0.92) ? 'POST' : rng.pick(['GET', ...METHODS_OTHER]);
  const path = password ? '/token/password' : '/accounts/import';
  return { kind: `headless${path}/${auth.variant}/${body.variant}`, method, path: `${path}${rng.chance(0.05) ? randomQuery(rng) : ''}`, headers, ...(body.body !== undefined ? { body: body.body } : {}) };
}

const UNKNOWN_PATHS = [
  '/token', '/token/', '/token/client/', '/token/client/x', '/token/CLIENT', '/TOKEN/CLIENT', '/token//client', '/token/client%2f',
  '/auth', '/auth/', '/auth/login/', '/AUTH/LOGIN', '/auth/%6cogin', '/auth/%6Ce', '/auth/me/', '/auth/me%00', '/auth/callback/x',
  '/auth/..%2ftoken/client', '/auth/%2e%2e/token/client', '/api', '/api/', '/api/demo/', '/api/x', '/api/demo/../demo', '/.env',
  '/favicon.ico', '/demo.js/', '/demo.jsx', '/index.html', '//', '///auth/me', '/%', '/%zz', '/%00', '/%ff%fe', '/é', '/😀',
  '/__proto__', '/constructor', '/auth/__proto__', '/token/client;x', '/auth/callback;jsessionid=1', '/.well-known/openid-configuration',
  '/auth/login%3FreturnTo=/', '/auth/token%20', '/\\auth\\me', '/auth\\me',
  '/accounts', '/accounts/', '/accounts/import/', '/accounts/IMPORT', '/token/password/', '/token/password/x', '/TOKEN/PASSWORD',
];

function unknownPath(rng: Rng, pools: FuzzPools): FuzzRequest {
  const path = rng.chance(0.8) ? rng.pick(UNKNOWN_PATHS) : rng.chance(0.5) ? `/${encodeURI(wellFormed(anyString(rng))).slice(0, 4000)}` : `/${'a/'.repeat(rng.range(10, 2000))}`;
  // Always an address: some of these paths may route to /auth/login or /auth/callback after decoding.
  const headers: Record<string, string> = { 'cf-connecting-ip': clientIp(rng) };
  if (rng.chance(0.3)) headers.authorization = `Bearer ${rng.pick(pools.callerKeys).key}`;
  noiseHeaders(rng, headers);
  const method = rng.pick(['GET', 'GET', 'POST', 'POST', ...METHODS_OTHER]);
  const body = method !== 'GET' && method !== 'HEAD' && method !== 'get' && rng.chance(0.5) ? tokenBody(rng, ['api://downstream/.default'], false) : undefined;
  if (body) Object.assign(headers, body.headers);
  return { kind: 'unknown-path', method, path: path + randomQuery(rng), headers, ...(body?.body !== undefined ? { body: body.body } : {}) };
}

/** /device/start and /device/poll: scopes and flow handles, well-formed, forged and hostile. */
function device(rng: Rng, pools: FuzzPools): FuzzRequest {
  const start = rng.chance(0.5);
  const headers: Record<string, string> = { 'cf-connecting-ip': clientIp(rng) };
  if (rng.chance(0.2)) headers.authorization = `Bearer ${rng.pick(pools.callerKeys).key}`;
  noiseHeaders(rng, headers);
  if (start) {
    const body = tokenBody(rng, ['api://downstream/read'], false);
    Object.assign(headers, body.headers);
    return { kind: 'device-start', method: 'POST', path: '/device/start', headers, ...(body.body !== undefined ? { body: body.body } : {}) };
  }
  const handle = rng.pick<unknown>([`v1.${wellFormed(anyString(rng))}`, anyString(rng), 'v1.AAAA', 42, null, ['v1.x'], { f: 'x' }, 'v1.'.padEnd(600, 'A')]);
  headers['content-type'] = 'application/json';
  const body = rng.chance(0.9) ? JSON.stringify({ flow_id: handle }) : anyString(rng);
  return { kind: 'device-poll', method: 'POST', path: '/device/poll', headers, body };
}

const ROUTES = ['/device/start', '/device/poll', '/device', '/device.js', '/token/client', '/token/obo', '/token/password', '/accounts/import', '/auth/login', '/auth/callback', '/auth/me', '/auth/token', '/auth/logout', '/', '/demo.js', '/api/demo', '/api/profile'];

function wrongMethod(rng: Rng, pools: FuzzPools): FuzzRequest {
  const path = rng.pick(ROUTES);
  const method = rng.pick([...METHODS_OTHER, 'GET', 'POST']);
  const headers: Record<string, string> = { 'cf-connecting-ip': clientIp(rng) };
  if (rng.chance(0.5)) headers.authorization = `Bearer ${rng.pick(pools.callerKeys).key}`;
  if (rng.chance(0.3)) {
    const cookie = sessionCookieHeader(rng, pools, true);
    if (cookie.header) headers.cookie = cookie.header;
  }
  if (rng.chance(0.3)) headers.origin = 'https://evil.example';
  return { kind: 'wrong-method', method, path, headers };
}

/** Category weights (out of 100). */
export const CATEGORIES: readonly (readonly [string, number, (rng: Rng, pools: FuzzPools) => FuzzRequest])[] = [
  ['token-client', 16, tokenClient],
  ['headless', 4, headless],
  ['device', 4, device],
  ['auth-login', 12, authLogin],
  ['auth-callback-get', 9, authCallbackGet],
  ['auth-callback-post', 6, authCallbackPost],
  ['auth-me', 9, authMe],
  ['auth-token', 13, authToken],
  ['auth-logout', 6, authLogout],
  ['static /', 3, (rng, pools) => staticPage(rng, pools, '/')],
  ['static /demo.js', 3, (rng, pools) => staticPage(rng, pools, '/demo.js')],
  ['api-demo', 6, apiDemo],
  ['on-behalf-of', 6, onBehalfOf],
  ['unknown-path', 4, unknownPath],
  ['wrong-method', 5, wrongMethod],
];

export function generate(rng: Rng, pools: FuzzPools): FuzzRequest {
  const [, , gen] = rng.weighted(CATEGORIES.map((c) => [c, c[1]] as const));
  return gen(rng, pools);
}

/**
 * Mutations of a real callback (a code the provider issued for this browser): the same request with one
 * thing changed, or unchanged (then it signs in). Used by fuzz.test.ts on a few full sign-ins.
 */
export function mutateCallback(rng: Rng, url: URL, issuer: string): { variant: string; url: URL; replay: boolean } {
  const out = new URL(url.href);
  const p = out.searchParams;
  const variant = rng.weighted<string>([
    ['unchanged', 4], ['replay', 2], ['junk-params', 2], ['code-twice', 1], ['state-twice', 1], ['iss-wrong', 1], ['iss-missing', 1], ['code-mutated', 1], ['error-added', 1],
  ]);
  if (variant === 'code-twice') p.append('code', p.get('code') ?? 'x');
  if (variant === 'state-twice') p.append('state', p.get('state') ?? 'x');
  if (variant === 'iss-wrong') p.set('iss', `${issuer}x`);
  if (variant === 'iss-missing') p.delete('iss');
  if (variant === 'code-mutated') p.set('code', flipChar(rng, p.get('code') ?? 'x'));
  if (variant === 'junk-params') {
    p.append('__proto__', 'x');
    p.append('constructor', 'y');
    p.append('session_state', anyString(rng));
  }
  if (variant === 'error-added') p.append('error', 'access_denied');
  return { variant, url: out, replay: variant === 'replay' };
}
