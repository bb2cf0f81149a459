/**
 * No open redirect through `returnTo`, whatever the input: the Location the callback sends after a full
 * sign-in is a path on this origin that no browser reads as another host. Thousands of generated inputs
 * (seeded and reproducible: change SEED to explore further) each go through /auth/login; every one
 * accepted there goes on through the provider and the callback, and the Location it ends with is judged.
 */
import { beforeAll, describe, expect, test } from 'vitest';
import { isSafeReturnPath, normaliseReturnTo } from '../../functions/return-to.ts';
import { DurableObjectFlowStore } from '../../functions/workers/do-flow-store.ts';
import type { PendingSignIn } from '../../functions/pending-sign-in.ts';
import type { Env } from '../../functions/workers/index.ts';
import { env } from './harness.ts';
import { Browser, CookieJar, WORKER_ORIGIN, freshSignInState, signInSettings } from './browser-driver.ts';
import { mulberry32 } from './seeded-random.ts';

const SEED = 20261127;
const INPUTS = 3000;
/** Sign-ins in flight at once: enough to overlap the provider's and the Worker's I/O on two cores. */
const CONCURRENCY = 8;

/**
 * The test's own statement of the invariant, independent of functions/return-to.ts: printable ASCII, one
 * leading slash and no backslash, same origin when a browser resolves it, and still no `//` or `/\` at
 * the start of the path once percent-decoded (for servers behind us that decode).
 */
function isLocalLocation(location: string): boolean {
  if (!/^[\x21-\x7E]+$/.test(location)) return false;
  if (!location.startsWith('/') || location.startsWith('//') || location.includes('\\')) return false;
  const resolved = new URL(location, WORKER_ORIGIN);
  if (resolved.origin !== WORKER_ORIGIN) return false;
  let path = resolved.pathname;
  for (let round = 0; round < 3; round++) {
    path = path.replace(/%([0-7][0-9A-Fa-f])/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (/^[/\\][/\\]/.test(path) || /[\x00-\x1F\x7F]/.test(path) || path.includes('\\')) return false;
  }
  return true;
}

/** A Location a browser follows to another host (the open redirect itself, not just a breach of the rule). */
function leavesOrigin(location: string): boolean {
  return /^[\s/\\]*[/\\][/\\]/.test(location) || new URL(location, WORKER_ORIGIN).origin !== WORKER_ORIGIN;
}

/** What the URL parser makes of an input: what the Location must be when the input is accepted. */
function parsed(input: string): string {
  const url = new URL(input, WORKER_ORIGIN);
  return url.pathname + url.search + url.hash;
}


const SCHEMES = ['http:', 'https:', 'HTTPS:', 'javascript:', 'data:', 'ftp:', 'https:/', 'https://', 'http:\\\\', 'jav\tascript:', '//', '\\\\', '/\\', '\\/', '///', '/%2F', '%2F%2F', '/%5C', '/%09/', '/\t/', '/\n/', '/\r\n/', ' //', '\u3000//'];
const HOSTS = ['evil.example', 'evil.example:8443', 'user:pass@evil.example', 'worker.test@evil.example', 'worker.test.evil.example', '127.0.0.1', '[::1]', '0x7f.1', 'worker.test', 'ｅｖｉｌ.example', 'xn--vil-6ma.example', '%65vil.example', 'evil%2eexample', 'évil.example'];
/** Path segments a real path may hold, dot segments (in every spelling) included. */
const PLAIN_SEGMENTS = ['a', 'orders', 'x y', 'é', '日本', '\u202Eevil', '.', '..', '%2e', '%2E', '%2e%2e', '.%2e', '%2e.', '%252e%252e', '%20', ';x=1', '@evil.example', ':', 'evil.example', 'https:', '%u002F', '%', '%zz', '%E2%80%AE', '\uFF0F', '\u2215', '\u3002', '~', "!$&'()*+,=", '%3F', '%23'];
/** Segments that make separators: empty (`//`), encoded slashes and backslashes, controls. */
const SEPARATOR_SEGMENTS = ['', '%2F', '%2f', '%252F', '%25252F', '%5C', '%255C', '\\', '%09', '%0a', '%0D%0A', '%00', '%%2F'];
const SEGMENTS = [...PLAIN_SEGMENTS, ...SEPARATOR_SEGMENTS];
const TAILS = ['', '/', '?q=1', '?next=//evil.example', '?x=%0d%0aSet-Cookie:a=b', '#frag', '#//evil.example', '?a=\\b', '%23x', '%3F//evil', '?', '#'];
const NOISE = ['\t', '\n', '\r', '\x00', '\x01', '\x1b', '\x7f', '\u0085', '\u00a0', '\u2028', '\\', '/', '.', '%', '%25', ' ', '\uFEFF', '\u0301'];

/** One input: a path of fragments, a URL with a host, or either with noise and percent-encoding. */
function generate(next: () => number): string {
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  let input: string;
  const shape = next();
  if (shape < 0.55) {
    // Paths: mostly accepted, unless dot segments or encodings make them climb out or start with `//`.
    const count = 1 + Math.floor(next() * 5);
    input = '/' + Array.from({ length: count }, () => pick(next() < 0.85 ? PLAIN_SEGMENTS : SEPARATOR_SEGMENTS)).join('/') + pick(TAILS);
  } else if (shape < 0.85) {
    input = pick(SCHEMES) + pick(HOSTS) + (next() < 0.5 ? '/' + pick(SEGMENTS) : '') + pick(TAILS);
  } else {
    input = pick(['/', '']) + pick(SEGMENTS) + pick(SCHEMES) + pick(HOSTS) + pick(TAILS);
  }
  // Noise: a control or separator character somewhere, or one character percent-encoded once or twice.
  for (let n = Math.floor(next() * 3); n > 0; n--) {
    const at = Math.floor(next() * (input.length + 1));
    const mode = next();
    if (mode < 0.5) {
      input = input.slice(0, at) + pick(NOISE) + input.slice(at);
    } else if (at < input.length && input.charCodeAt(at) < 0xd800) {
      const once = encodeURIComponent(input[at]!).replace(/[!'()*~.]/g, (ch) => '%' + ch.charCodeAt(0).toString(16).toUpperCase());
      input = input.slice(0, at) + (mode < 0.8 ? once : once.replace(/%/g, '%25')) + input.slice(at + 1);
    }
  }
  return input;
}

/**
 * Runs `work` over `items` in `lanes` sequential lanes at once. Each lane has its own provider session
 * (one interactive login), used by one sign-in at a time: the provider refuses to resume an interaction
 * when another one changed the same session meanwhile.
 */
async function inLanes<T>(items: T[], lanes: CookieJar[], work: (item: T, providerSession: CookieJar) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    lanes.map(async (providerSession) => {
      while (next < items.length) await work(items[next++]!, providerSession);
    }),
  );
}

/** The provider's cookies after an interactive login (single sign-on for the sign-ins that follow). */
async function providerSession(settings: Env): Promise<CookieJar> {
  const browser = new Browser(settings);
  expect((await browser.signIn()).status).toBe(302);
  return browser.provider;
}

describe('returnTo: the Location after sign-in never leaves the origin', () => {
  let settings: Env;
  /** One provider session per lane: a generated sign-in goes through the consent page only. */
  let lanes: CookieJar[];

  beforeAll(async () => {
    await freshSignInState();
    settings = await signInSettings();
    lanes = await Promise.all(Array.from({ length: CONCURRENCY }, () => providerSession(settings)));
  });

  test(`for ${INPUTS} generated inputs (seed ${SEED}), each judged on its final Location`, async () => {
    const next = mulberry32(SEED);
    const inputs = Array.from({ length: INPUTS }, () => generate(next));
    const started = Date.now();
    const failures: string[] = [];
    let accepted = 0;
    let refused = 0;
    await inLanes(inputs, lanes, async (input, signedInAtProvider) => {
      // A browser per input, with its own client address (rate limits) and its lane's provider session.
      const browser = new Browser(settings, { provider: signedInAtProvider });
      const login = await browser.get(`/auth/login?returnTo=${encodeURIComponent(input)}`);
      if (login.status === 400) {
        refused++;
        if (login.headers.get('location') !== null) failures.push(`${JSON.stringify(input)}: refused with a Location`);
        return;
      }
      if (login.status !== 302) {
        failures.push(`${JSON.stringify(input)}: /auth/login answered ${login.status}`);
        return;
      }
      accepted++;
      const callback = await browser.complete(await browser.authenticate(login.headers.get('location')!));
      const location = callback.headers.get('location');
      if (callback.status !== 302 || location === null) failures.push(`${JSON.stringify(input)}: callback answered ${callback.status}`);
      else if (leavesOrigin(location)) failures.unshift(`${JSON.stringify(input)}: OPEN REDIRECT to ${JSON.stringify(location)}`);
      else if (!isLocalLocation(location)) failures.push(`${JSON.stringify(input)}: unsafe Location ${JSON.stringify(location)}`);
      // Accepted means stored as the URL parser reads it, and sent as stored (not silently replaced by `/`).
      else if (location !== parsed(input)) failures.push(`${JSON.stringify(input)}: Location ${JSON.stringify(location)}, expected ${JSON.stringify(parsed(input))}`);
    });
    const seconds = (Date.now() - started) / 1000;
    console.log(`returnTo: ${inputs.length} inputs (seed ${SEED}): ${accepted} full sign-ins, ${refused} refused at /auth/login, ${seconds.toFixed(1)} s`);
    if (failures.length) console.log(`returnTo: ${failures.length} failures, ${failures.filter((f) => f.includes('OPEN REDIRECT')).length} open redirects`);
    expect(failures.slice(0, 20)).toEqual([]);
    expect(accepted + refused).toBe(INPUTS);
    // The generator must exercise both sides, or the test proves nothing about the accepted ones.
    expect(accepted).toBeGreaterThan(INPUTS / 4);
    expect(refused).toBeGreaterThan(INPUTS / 4);
  }, 180_000);

  test('a stored returnTo that breaks the invariant is not sent: the callback sends the browser home', async () => {
    const browser = new Browser(settings, { provider: lanes[0]! });
    const authorize = await browser.startSignIn('returnTo=/orders');
    const answer = await browser.authenticate(authorize);
    // As if /auth/login had let it through (an older version's record, or a bug there).
    const flows = new DurableObjectFlowStore<PendingSignIn>(env.FLOWS);
    const state = new URL(authorize).searchParams.get('state')!;
    const pending = (await flows.consume(state))!;
    await flows.put(state, { ...pending, returnTo: '//evil.example/' }, { ttlSeconds: 600 });
    const callback = await browser.complete(answer);
    expect(callback.status).toBe(302);
    expect(callback.headers.get('location')).toBe('/');
  });
});

describe('returnTo normalisation (functions/return-to.ts)', () => {
  const origin = WORKER_ORIGIN;

  test('keeps a path with its query and fragment, in the form the URL parser gives it', () => {
    expect(normaliseReturnTo('/orders?id=7#top', origin)).toBe('/orders?id=7#top');
    expect(normaliseReturnTo('/a/./b/../c', origin)).toBe('/a/c');
    expect(normaliseReturnTo('/é', origin)).toBe('/%C3%A9');
    expect(normaliseReturnTo(undefined, origin)).toBe('/');
  });

  const refused = [
    '/.//evil.example', '/a/..//evil.example', '/%2e//evil.example', '/%2e%2e//evil.example', '/..//evil.example',
    '//evil.example', '/\\evil.example', '\\/evil.example', '/\t/evil.example', '/%2F%2Fevil.example', '/%5Cevil.example',
    '/%252F%252Fevil.example', '/%2E%2E%2F%2Fevil.example', 'https://evil.example', 'https:evil.example',
    'javascript:alert(1)', 'evil.example', `${WORKER_ORIGIN}/x`, '/ok\r\nSet-Cookie: a=b', '/\u0085x',
  ];
  for (const input of refused) {
    test(`refuses ${JSON.stringify(input)}`, () => {
      expect(() => normaliseReturnTo(input, origin)).toThrow(/returnTo/);
    });
  }

  test('the callback invariant refuses what a browser would read as another host', () => {
    for (const location of ['//evil.example', '/\\evil.example', '/%2F/evil.example', '/%252F%252Fevil', 'https://evil.example', '/a\tb', '']) {
      expect(isSafeReturnPath(location), location).toBe(false);
    }
    expect(isSafeReturnPath('/orders?next=//x#//y')).toBe(true);
  });
});
