/**
 * Reads a token request body, JSON or form-encoded, into plain parameters. Each parameter may appear
 * once (RFC 6749 §3.2), in JSON too, where JSON.parse would silently keep the last of two; and no key may
 * be `__proto__`, `constructor` or `prototype` at any depth, so that nothing that later copies or merges
 * the parameters can reach an object's prototype. Anything else is a 400 `invalid_request`, never a 500.
 */
import { CallerError } from '../lib/mod.ts';

export type BodyParameters = Record<string, unknown>;

const PROTOTYPE_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** UTF-8, invalid bytes replaced, as `new TextDecoder()`; one for every request (decode() keeps no state). */
const decoder = new TextDecoder();

export async function readBodyParameters(request: Request): Promise<BodyParameters> {
  const type = (request.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  let text: string;
  try {
    // Bytes, then UTF-8: form bodies are not declared as text, and workerd warns on .text() for them.
    text = decoder.decode(await request.arrayBuffer());
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
  assertKeysOnceAndPlain(text);
  if (!json || typeof json !== 'object' || Array.isArray(json)) {
    throw new CallerError('invalid_request', 'The request body must be a JSON object');
  }
  return json as BodyParameters;
}

function parseForm(text: string): BodyParameters {
  const params = new URLSearchParams(text);
  const out: BodyParameters = Object.create(null) as BodyParameters;
  for (const [name, value] of params) {
    if (PROTOTYPE_KEYS.has(name)) throw new CallerError('invalid_request', 'The request body has a reserved parameter name');
    if (name in out) throw new CallerError('invalid_request', `Parameter ${printable(name)} appears more than once`);
    out[name] = value;
  }
  return out;
}

/**
 * Scans JSON text that JSON.parse has accepted, with one key set per open object: a key seen twice in
 * one object, or a prototype key, is refused. Keys are compared decoded (`"a"` and `"\u0061"` are one key).
 */
function assertKeysOnceAndPlain(text: string): void {
  const objects: (Set<string> | null)[] = []; // null: an array
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === '"') {
      const end = endOfString(text, i);
      const keys = objects[objects.length - 1];
      if (keys) {
        let next = end;
        while (text[next] === ' ' || text[next] === '\t' || text[next] === '\n' || text[next] === '\r') next++;
        if (text[next] === ':') {
          // Without a backslash the literal is its own value (JSON.parse has accepted the whole text).
          const literal = text.slice(i + 1, end - 1);
          const key = literal.includes('\\') ? (JSON.parse(text.slice(i, end)) as string) : literal;
          if (PROTOTYPE_KEYS.has(key)) throw new CallerError('invalid_request', 'The request body has a reserved key');
          if (keys.has(key)) throw new CallerError('invalid_request', `Key ${printable(key)} appears more than once in one object`);
          keys.add(key);
        }
      }
      i = end;
      continue;
    }
    if (ch === '{') objects.push(new Set());
    else if (ch === '[') objects.push(null);
    else if (ch === '}' || ch === ']') objects.pop();
    i++;
  }
}

/** Index just past the closing quote of the string that opens at `start`. */
function endOfString(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    if (text[i] === '\\') i += 2;
    else if (text[i] === '"') return i + 1;
    else i++;
  }
  return text.length;
}

/** Parameter names are echoed in error messages only when they look like parameter names. */
function printable(name: string): string {
  return /^[A-Za-z0-9_.-]{1,64}$/.test(name) ? name : '(a parameter)';
}
