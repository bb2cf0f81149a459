/**
 * A request to a deployment as a client sends it, on any runtime: the workerd harness
 * (test/workers/harness.ts `call`) and the contract suite (test/contract/suite.ts `send`) build theirs here.
 * Web APIs only.
 */

export interface ClientRequestOptions {
  /** Default POST. */
  method?: string;
  /** Sent as `Authorization: Bearer <bearer>` (a caller key, a session key, a user's access token). */
  bearer?: string;
  /** Sent as the body, with `Content-Type: application/json`. */
  json?: unknown;
  body?: BodyInit | null;
  /** Overrides the content type (of `json` too). */
  contentType?: string;
  headers?: Record<string, string>;
}

/** The request for `url` (GET and HEAD send no body; a stream is sent half-duplex, as fetch requires). */
export function clientRequest(url: string, options: ClientRequestOptions = {}): Request {
  const headers = new Headers(options.headers);
  if (options.bearer !== undefined) headers.set('authorization', `Bearer ${options.bearer}`);
  let body = options.body ?? null;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers.set('content-type', 'application/json');
  }
  if (options.contentType) headers.set('content-type', options.contentType);
  const method = options.method ?? 'POST';
  const init: RequestInit & { duplex?: 'half' } = { method, headers, body: method === 'GET' || method === 'HEAD' ? null : body };
  if (body instanceof ReadableStream) init.duplex = 'half';
  return new Request(url, init);
}

/** A body of `chunks` chunks of `chunkSize` bytes ('x'), streamed: its request has no Content-Length. */
export function streamedBody(chunkSize: number, chunks: number): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode('x'.repeat(chunkSize));
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ < chunks) controller.enqueue(chunk);
      else controller.close();
    },
  });
}
