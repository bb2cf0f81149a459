/** Small in-memory doubles shared by the lib tests (no runtime-specific APIs). */
import type { CacheStore } from '../../lib/storage/ports.ts';

/** A CacheStore backed by a Map that counts its calls and records the TTLs it was given. */
export class MemoryCacheStore implements CacheStore {
  readonly data = new Map<string, string>();
  readonly ttls = new Map<string, number>();
  gets = 0;
  puts = 0;
  deletes = 0;

  get(key: string): Promise<string | null> {
    this.gets++;
    return Promise.resolve(this.data.get(key) ?? null);
  }

  put(key: string, value: string, options: { ttlSeconds: number }): Promise<void> {
    this.puts++;
    this.data.set(key, value);
    this.ttls.set(key, options.ttlSeconds);
    return Promise.resolve();
  }

  delete(key: string): Promise<void> {
    this.deletes++;
    this.data.delete(key);
    this.ttls.delete(key);
    return Promise.resolve();
  }
}

export const SEALING_SECRET = 'k'.repeat(16) + '0123456789abcdef-test-only-secret';

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/** Lines of 64 characters, as openssl writes PEM. */
export function toPem(der: ArrayBuffer, label = 'PRIVATE KEY'): string {
  const bytes = new Uint8Array(der);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  const body = btoa(binary).replace(/(.{64})/g, '$1\n').trimEnd();
  return `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
}

let cachedPem: Promise<{ pem: string; publicKey: CryptoKey }> | undefined;

/** A freshly generated RSA-2048 PKCS#8 PEM (generated once per test file run: it takes a moment). */
export function generatedPem(): Promise<{ pem: string; publicKey: CryptoKey }> {
  cachedPem ??= (async () => {
    const pair = (await crypto.subtle.generateKey(
      { name: 'RSA-PSS', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      true,
      ['sign', 'verify'],
    )) as CryptoKeyPair;
    const der = (await crypto.subtle.exportKey('pkcs8', pair.privateKey)) as ArrayBuffer;
    return { pem: toPem(der), publicKey: pair.publicKey };
  })();
  return cachedPem;
}

/** Decodes a JWS's protected header and payload (no verification). */
export function decodeJwt(jwt: string): { header: Record<string, unknown>; payload: Record<string, unknown> } {
  const [h, p] = jwt.split('.');
  const decode = (part: string) => {
    const padded = part.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (part.length % 4)) % 4);
    const binary = atob(padded);
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
  };
  return { header: decode(h!), payload: decode(p!) };
}

export interface CapturedRequest {
  url: string;
  method: string;
  headers: Headers;
  body: URLSearchParams;
}

/** A fetch that records every request (with its form body) and answers with `answer`. */
export function capturingFetch(answer: () => Response = () => jsonResponse({ access_token: 'at', token_type: 'Bearer', expires_in: 3599 })) {
  const requests: CapturedRequest[] = [];
  const fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    requests.push({ url: request.url, method: request.method, headers: request.headers, body: new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer())) });
    return answer();
  }) as typeof globalThis.fetch;
  return { fetch, requests };
}

/** What provider-http hands one attempt of a grant request: a timeout signal and the correlation header `corr-1`. */
export function sendInit(): { signal: AbortSignal; headers: Headers } {
  return { signal: AbortSignal.timeout(5_000), headers: new Headers({ 'client-request-id': 'corr-1' }) };
}
