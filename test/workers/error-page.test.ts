/**
 * The error page of the browser navigations (sign-in, callback, sign-out) never carries markup from the
 * request: what it shows of an input is escaped, and everything else it says is ours.
 */
import { beforeEach, describe, expect, test } from 'vitest';
import { escapeHtml } from '../../functions/error-page.ts';
import { idp } from './harness.ts';
import { Browser, WORKER_ORIGIN, freshSignInState, signInSettings } from './browser-driver.ts';

beforeEach(freshSignInState);

const MARKUP = `<script>alert(1)</script><img src=x onerror=alert(2)>"'><svg onload=alert(3)>`;

/** The tags the page template uses; any other tag in a page came from input. */
const TEMPLATE_TAGS = new Set(['!doctype', 'html', 'head', 'meta', 'title', 'body', 'h1', 'p', 'strong', 'code', 'a']);

function foreignTags(page: string): string[] {
  return [...page.matchAll(/<\/?([!a-z][a-z0-9]*)/gi)].map((m) => m[1]!.toLowerCase()).filter((tag) => !TEMPLATE_TAGS.has(tag));
}

async function expectNoReflectedMarkup(response: Response): Promise<string> {
  expect(response.status).toBeGreaterThanOrEqual(400);
  expect(response.status).toBeLessThan(500);
  expect(response.headers.get('content-type')).toMatch(/^text\/html/);
  const page = await response.text();
  expect(foreignTags(page)).toEqual([]);
  for (const needle of ['<script', '<img', '<svg', `"'>`]) expect(page).not.toContain(needle);
  return page;
}

describe('the error page', () => {
  test("escapes the provider's error_description (a test that fails when the escaping is removed)", async () => {
    const browser = new Browser(await signInSettings());
    const state = new URL(await browser.startSignIn()).searchParams.get('state')!;
    const iss = encodeURIComponent(`${idp.authority}/v2.0`);
    const response = await browser.get(`/auth/callback?error=access_denied&error_description=${encodeURIComponent(MARKUP)}&state=${state}&iss=${iss}`);
    const page = await expectNoReflectedMarkup(response);
    expect(page).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  test('escapeHtml escapes the five characters that matter in text and attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  const navigations: [string, (browser: Browser) => Promise<Response>][] = [
    ['a returnTo with markup', (b) => b.get(`/auth/login?returnTo=${encodeURIComponent(MARKUP)}`)],
    ['a returnTo path with markup', (b) => b.get(`/auth/login?returnTo=${encodeURIComponent('//' + MARKUP)}`)],
    ['a state with markup', (b) => b.get(`/auth/callback?code=x&state=${encodeURIComponent(MARKUP)}`)],
    ['an error and code with markup, without a state', (b) => b.get(`/auth/callback?error=${encodeURIComponent(MARKUP)}&code=${encodeURIComponent(MARKUP)}`)],
    ['a repeated parameter named with markup', (b) => b.get(`/auth/callback?${encodeURIComponent(MARKUP)}=1&${encodeURIComponent(MARKUP)}=2`)],
    [
      'a form_post callback with markup in names and values',
      (b) => b.post('/auth/callback', { body: `${encodeURIComponent(MARKUP)}=1&${encodeURIComponent(MARKUP)}=2&state=${encodeURIComponent(MARKUP)}`, contentType: 'application/x-www-form-urlencoded' }),
    ],
    ['a form_post callback with a markup content type', (b) => b.post('/auth/callback', { body: MARKUP, contentType: `text/html; x=${MARKUP.replace(/[\r\n]/g, '')}` })],
    ['a sign-out from an Origin with markup', (b) => b.post('/auth/logout', { headers: { origin: `${WORKER_ORIGIN}"><script>alert(1)</script>` } })],
  ];
  for (const [name, send] of navigations) {
    test(`shows no markup from ${name}`, async () => {
      await expectNoReflectedMarkup(await send(new Browser(await signInSettings())));
    });
  }
});
