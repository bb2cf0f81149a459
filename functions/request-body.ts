/**
 * Reads a token request body, JSON or form-encoded, into plain parameters. Each parameter may appear
 * once (RFC 6749 §3.2); anything else is a 400 `invalid_request`, never a 500.
 */
import { CallerError } from '../lib/mod.ts';

export type BodyParameters = Record<string, unknown>;

export async function readBodyParameters(request: Request): Promise<BodyParameters> {
  const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  let text: string;
  try {
    text = await request.text();
  } catch (cause) {
    if (cause instanceof CallerError) throw cause;
    throw new CallerError('invalid_request', 'The request body could not be read');
  }
  if (type === 'application/json') return parseJsonObject(text);
  if (type === 'application/x-www-form-urlencoded') return parseForm(text);
  throw new CallerError('invalid_request', 'Content-Type must be application/json or application/x-www-form-urlencoded');
}

function parseJsonObject(text: string): BodyParameters {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new CallerError('invalid_request', 'The request body is not valid JSON');
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new CallerError('invalid_request', 'The request body must be a JSON object');
  }
  return json as BodyParameters;
}

function parseForm(text: string): BodyParameters {
  const params = new URLSearchParams(text);
  const out: BodyParameters = Object.create(null) as BodyParameters;
  for (const [name, value] of params) {
    if (name in out) throw new CallerError('invalid_request', `Parameter ${name} appears more than once`);
    out[name] = value;
  }
  return out;
}
