import { assert, assertEquals, assertRejects, assertStringIncludes, test } from './spec.ts';
import { isTimeout, readProviderError, sendTokenRequest, ThrottlingCache, withDeadline, type ProviderHttpOptions, type TokenRequestPolicy } from '../../lib/oauth/provider-http.ts';
import { NetworkError, ServerError, ThrottlingError } from '../../lib/errors.ts';
import { jsonResponse } from './fakes.ts';

const ENTRA_ERROR = {
  error: 'invalid_client',
  error_description: 'AADSTS7000215: Invalid client secret provided.',
  error_codes: [7000215],
  timestamp: '2026-11-27 08:00:00Z',
  trace_id: '0b4c1a2e-0000-4000-8000-000000000001',
  correlation_id: '6f1e9c2a-0000-4000-8000-000000000002',
  suberror: 'bad_token',
  claims: '{"access_token":{"nbf":{"essential":true}}}',
  error_uri: 'https://login.microsoftonline.com/error?code=7000215',
};

test('readProviderError keeps every Entra error field', async () => {
  const error = await readProviderError(jsonResponse(ENTRA_ERROR, 401), 'server_error');
  assert(error instanceof ServerError);
  assertEquals(error.errorCode, 'invalid_client');
  assertEquals(error.errorMessage, ENTRA_ERROR.error_description);
  assertEquals(error.errorCodes, [7000215]);
  assertEquals(error.subError, 'bad_token');
  assertEquals(error.claims, ENTRA_ERROR.claims);
  assertEquals(error.correlationId, ENTRA_ERROR.correlation_id);
  assertEquals(error.traceId, ENTRA_ERROR.trace_id);
  assertEquals(error.providerStatus, 401);
  assertEquals(error.retryAfter, undefined);
});

test('readProviderError takes the correlation id from client-request-id when the body has none', async () => {
  const error = await readProviderError(jsonResponse({ error: 'invalid_grant' }, 400, { 'client-request-id': 'from-header' }), 'x', 'ours');
  assertEquals(error.correlationId, 'from-header');
  const fallback = await readProviderError(jsonResponse({ error: 'invalid_grant' }, 400), 'x', 'ours');
  assertEquals(fallback.correlationId, 'ours');
});

test('readProviderError turns a non-JSON 500 body into server_error naming HTTP 500', async () => {
  const error = await readProviderError(new Response('<html>oops</html>', { status: 500, headers: { 'content-type': 'text/html' } }), 'server_error');
  assertEquals(error.errorCode, 'server_error');
  assertStringIncludes(error.errorMessage, 'HTTP 500');
  assertEquals(error.providerStatus, 500);
});

test('readProviderError ignores ill-typed fields', async () => {
  const error = await readProviderError(jsonResponse({ error: 42, error_codes: ['x'], suberror: 1 }, 400), 'fallback_error');
  assertEquals(error.errorCode, 'fallback_error');
  assertEquals(error.errorCodes, undefined);
  assertEquals(error.subError, undefined);
});

test('readProviderError gives a 429 without Retry-After 60 s', async () => {
  assertEquals((await readProviderError(jsonResponse({ error: 'too_many' }, 429), 'x')).retryAfter, 60);
});

test('readProviderError reads Retry-After: 7 as 7 s', async () => {
  assertEquals((await readProviderError(jsonResponse({}, 429, { 'retry-after': '7' }), 'x')).retryAfter, 7);
});

test('readProviderError caps Retry-After at 3600 s', async () => {
  assertEquals((await readProviderError(jsonResponse({}, 429, { 'retry-after': '99999' }), 'x')).retryAfter, 3600);
});

test('readProviderError reads Retry-After on a 503 too', async () => {
  assertEquals((await readProviderError(jsonResponse({}, 503, { 'retry-after': '3' }), 'x')).retryAfter, 3);
});

test('readProviderError reads an HTTP-date Retry-After', async () => {
  const date = new Date(Date.now() + 120_000).toUTCString();
  const seconds = (await readProviderError(jsonResponse({}, 429, { 'retry-after': date }), 'x')).retryAfter!;
  assert(seconds >= 118 && seconds <= 121, String(seconds));
});

test('readProviderError has no retryAfter for a 500 without the header', async () => {
  assertEquals((await readProviderError(jsonResponse({}, 500), 'x')).retryAfter, undefined);
});

test('readProviderError does not read an error body over 64 KiB', async () => {
  const big = JSON.stringify({ error: 'invalid_request', padding: 'x'.repeat(70_000) });
  const error = await readProviderError(new Response(big, { status: 400 }), 'fallback_error');
  assertEquals(error.errorCode, 'fallback_error');
});

// ---- sendTokenRequest ------------------------------------------------------------------------------

type Answer = Response | (() => Response | Promise<Response>) | Error;

function fakeSend(answers: Answer[]) {
  const seen: { headers: Headers; signal: AbortSignal }[] = [];
  const send = async (init: { signal: AbortSignal; headers: Headers }): Promise<Response> => {
    seen.push(init);
    const answer = answers[Math.min(seen.length - 1, answers.length - 1)]!;
    if (answer instanceof Error) throw answer;
    return typeof answer === 'function' ? answer() : answer.clone();
  };
  return { send, seen };
}

const ok = () => jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: 3600 });
const status = (code: number, headers: Record<string, string> = {}) => () => jsonResponse({ error: code >= 500 ? 'server_error' : 'invalid_request' }, code, headers);

function policy(overrides: Partial<TokenRequestPolicy> = {}): TokenRequestPolicy {
  return { retry: true, thumbprint: 'authority|client|client_credentials|scope|', throttling: new ThrottlingCache(), correlationId: 'corr-1', ...overrides };
}

function options(clock = { now: 1_700_000_000_000 }): ProviderHttpOptions {
  return { timeoutMs: 5_000, retryDelayMs: 0, now: () => clock.now };
}

test('sendTokenRequest retries once after a 500 and returns the 200', async () => {
  const { send, seen } = fakeSend([status(500), ok]);
  const response = await sendTokenRequest(send, policy(), options());
  assertEquals(response.status, 200);
  assertEquals(seen.length, 2);
});

test('sendTokenRequest throws ServerError after two 500s', async () => {
  const { send, seen } = fakeSend([status(500), status(500)]);
  const error = await assertRejects(() => sendTokenRequest(send, policy(), options()), ServerError, 'server_error');
  assertEquals(error.providerStatus, 500);
  assertEquals(seen.length, 2);
});

test('sendTokenRequest does not retry when retry is false', async () => {
  const { send, seen } = fakeSend([status(500), ok]);
  await assertRejects(() => sendTokenRequest(send, policy({ retry: false }), options()), ServerError);
  assertEquals(seen.length, 1);
});

test('sendTokenRequest does not retry a 400', async () => {
  const { send, seen } = fakeSend([status(400), ok]);
  await assertRejects(() => sendTokenRequest(send, policy(), options()), ServerError, 'invalid_request');
  assertEquals(seen.length, 1);
});

test('sendTokenRequest retries a network failure and returns the 200', async () => {
  const { send, seen } = fakeSend([new TypeError('fetch failed'), ok]);
  assertEquals((await sendTokenRequest(send, policy(), options())).status, 200);
  assertEquals(seen.length, 2);
});

test('sendTokenRequest throws NetworkError network_error after two network failures', async () => {
  const { send, seen } = fakeSend([new TypeError('fetch failed')]);
  const error = await assertRejects(() => sendTokenRequest(send, policy(), options()), NetworkError, 'network_error');
  assertEquals(error.correlationId, 'corr-1');
  assertEquals(seen.length, 2);
});

test('sendTokenRequest turns a timeout into NetworkError request_timeout without retrying', async () => {
  const { send, seen } = fakeSend([new DOMException('The operation timed out.', 'TimeoutError'), ok]);
  await assertRejects(() => sendTokenRequest(send, policy(), options()), NetworkError, 'request_timeout');
  assertEquals(seen.length, 1);
});

test('sendTokenRequest sends the correlation id and MSAL capability headers', async () => {
  const { send, seen } = fakeSend([ok]);
  await sendTokenRequest(send, policy({ correlationId: 'corr-xyz' }), options());
  const headers = seen[0]!.headers;
  assertEquals(headers.get('client-request-id'), 'corr-xyz');
  assertEquals(headers.get('return-client-request-id'), 'true');
  assertStringIncludes(headers.get('x-ms-lib-capability') ?? '', 'retry-after');
  assert(seen[0]!.signal instanceof AbortSignal);
});

test('sendTokenRequest turns a 429 with Retry-After 5 into ServerError with retryAfter 5, without retrying', async () => {
  const { send, seen } = fakeSend([status(429, { 'retry-after': '5' }), ok]);
  const error = await assertRejects(() => sendTokenRequest(send, policy(), options()), ServerError);
  assert(!(error instanceof ThrottlingError), 'the provider answer itself is not a local throttle');
  assertEquals(error.retryAfter, 5);
  assertEquals(error.providerStatus, 429);
  assertEquals(seen.length, 1);
});

test('sendTokenRequest blocks the same request with ThrottlingError without calling send while Retry-After runs', async () => {
  const clock = { now: 1_700_000_000_000 };
  const throttling = new ThrottlingCache();
  const first = fakeSend([status(429, { 'retry-after': '5' })]);
  await assertRejects(() => sendTokenRequest(first.send, policy({ throttling }), options(clock)), ServerError);
  clock.now += 2_000;
  const second = fakeSend([ok]);
  const error = await assertRejects(() => sendTokenRequest(second.send, policy({ throttling }), options(clock)), ThrottlingError);
  assertEquals(second.seen.length, 0);
  assertEquals(error.retryAfter, 3);
  assertEquals(error.providerStatus, 429);
});

test('sendTokenRequest still calls send for a different thumbprint while another is throttled', async () => {
  const clock = { now: 1_700_000_000_000 };
  const throttling = new ThrottlingCache();
  await assertRejects(() => sendTokenRequest(fakeSend([status(429, { 'retry-after': '5' })]).send, policy({ throttling }), options(clock)), ServerError);
  const other = fakeSend([ok]);
  const response = await sendTokenRequest(other.send, policy({ throttling, thumbprint: 'authority|client|client_credentials|other|' }), options(clock));
  assertEquals(response.status, 200);
  assertEquals(other.seen.length, 1);
});

test('sendTokenRequest lets the request through again once Retry-After has passed', async () => {
  const clock = { now: 1_700_000_000_000 };
  const throttling = new ThrottlingCache();
  await assertRejects(() => sendTokenRequest(fakeSend([status(429, { 'retry-after': '5' })]).send, policy({ throttling }), options(clock)), ServerError);
  clock.now += 5_000;
  const later = fakeSend([ok]);
  assertEquals((await sendTokenRequest(later.send, policy({ throttling }), options(clock))).status, 200);
  assertEquals(later.seen.length, 1);
});

test('ThrottlingCache forgets the oldest thumbprint beyond its bound', async () => {
  const clock = { now: 1_700_000_000_000 };
  const throttling = new ThrottlingCache(2);
  for (const thumbprint of ['a', 'b', 'c']) {
    await assertRejects(() => sendTokenRequest(fakeSend([status(429)]).send, policy({ throttling, thumbprint }), options(clock)), ServerError);
  }
  const a = fakeSend([ok]);
  assertEquals((await sendTokenRequest(a.send, policy({ throttling, thumbprint: 'a' }), options(clock))).status, 200);
  await assertRejects(() => sendTokenRequest(fakeSend([ok]).send, policy({ throttling, thumbprint: 'c' }), options(clock)), ThrottlingError);
});

test('a throttled request replays every field of the provider error, claims and trace id included', async () => {
  const throttling = new ThrottlingCache();
  const body = { error: 'temporarily_unavailable', error_description: 'slow down', claims: '{"access_token":{}}', trace_id: 't-1', error_codes: [90055] };
  const { send } = fakeSend([() => jsonResponse(body, 429, { 'retry-after': '30' })]);
  await assertRejects(() => sendTokenRequest(send, policy({ throttling }), options()), ServerError);
  const replayed = await assertRejects(() => sendTokenRequest(send, policy({ throttling }), options()), ThrottlingError);
  assertEquals(replayed.claims, '{"access_token":{}}');
  assertEquals(replayed.traceId, 't-1');
  assertEquals(replayed.errorCodes, [90055]);
});

// ---- bounded answers -------------------------------------------------------------------------------

/** A body that sends `chunk` every `intervalMs` until read to the end or cancelled (a slow drip). */
function drip(chunk: string, times: number, intervalMs: number, headers: Record<string, string> = {}): Response {
  let timer: ReturnType<typeof setInterval> | undefined;
  let sent = 0;
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      timer = setInterval(() => {
        controller.enqueue(new TextEncoder().encode(chunk));
        if (++sent >= times) {
          clearInterval(timer);
          controller.close();
        }
      }, intervalMs);
    },
    cancel() {
      clearInterval(timer);
    },
  });
  return new Response(body, { status: 200, headers: { 'content-type': 'application/json', ...headers } });
}

/** A body that announces its length and then never sends a byte. */
function silentBody(contentLength: number): Response {
  const body = new ReadableStream<Uint8Array>({ pull: () => new Promise(() => undefined) });
  return new Response(body, { status: 200, headers: { 'content-type': 'application/json', 'content-length': String(contentLength) } });
}

test('sendTokenRequest refuses a token response over 64 KiB as invalid_provider_response, without retrying', async () => {
  const big = () => jsonResponse({ access_token: 'x'.repeat(70_000), token_type: 'Bearer', expires_in: 3600 });
  const { send, seen } = fakeSend([big, ok]);
  const error = await assertRejects(() => sendTokenRequest(send, policy(), options()), NetworkError, 'invalid_provider_response');
  assertStringIncludes(error.message, '64 KiB');
  assertEquals(seen.length, 1);
});

test('sendTokenRequest refuses an announced Content-Length over 64 KiB without waiting for the body', async () => {
  const { send } = fakeSend([() => silentBody(1_000_000)]);
  const fast: ProviderHttpOptions = { ...options(), timeoutMs: 2_000 };
  const started = Date.now();
  await assertRejects(() => sendTokenRequest(send, policy(), fast), NetworkError, 'invalid_provider_response');
  assert(Date.now() - started < 1_000, 'refused before the timeout');
});

test('sendTokenRequest ends a slow-dripping token response in request_timeout within the timeout', async () => {
  const { send } = fakeSend([() => drip(' ', 1_000, 20)]);
  const started = Date.now();
  await assertRejects(() => sendTokenRequest(send, policy(), { ...options(), timeoutMs: 150 }), NetworkError, 'request_timeout');
  assert(Date.now() - started < 1_000, `took ${Date.now() - started} ms`);
});

test('sendTokenRequest hands back a successful answer read into memory, status and headers kept', async () => {
  const { send } = fakeSend([() => drip('{"access_token":"at","token_type":"Bearer","expires_in":3600}', 1, 1, { 'client-request-id': 'c-1' })]);
  const response = await sendTokenRequest(send, policy(), options());
  assertEquals(response.status, 200);
  assertEquals(response.headers.get('client-request-id'), 'c-1');
  assertEquals(((await response.json()) as { access_token: string }).access_token, 'at');
});

test('withDeadline cancels its timer once the work is done: the signal never aborts afterwards', async () => {
  // A pending timer keeps a Durable Object (and its isolate) alive for the whole budget after every call.
  let seen: AbortSignal | undefined;
  assertEquals(await withDeadline(30, async (signal) => ((seen = signal), 'done')), 'done');
  await new Promise((resolve) => setTimeout(resolve, 60));
  assertEquals(seen!.aborted, false);
});

test('withDeadline aborts work that outlives the budget with a TimeoutError', async () => {
  const error = await withDeadline(20, (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))).catch((e: unknown) => e);
  assertEquals((error as Error).name, 'TimeoutError');
  assert(isTimeout(error));
});
