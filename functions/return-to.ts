/**
 * `returnTo`: where the callback sends the browser after sign-in, as its Location header. The rule is
 * about that output, not the input: whatever was asked for, the Location is a path on this origin that a
 * browser cannot read as another host (no `//host`, no `/\host`). So /auth/login judges what the URL
 * parser makes of the value (dot segments resolved, tabs and newlines dropped, backslashes read as
 * slashes, unicode percent-encoded), stores that normalised path, and the callback checks it again before
 * sending it. Anything that does not survive this is refused (400), never repaired.
 */
import { CallerError } from '../lib/mod.ts';

const MAX_LENGTH = 2048;

/** Only to resolve against: any fixed origin serves, since a safe path never leaves it. */
const PROBE_ORIGIN = 'https://return-to.invalid';

/** How many rounds of percent-decoding a safe path must survive (`%252F` is `/` after two). */
const DECODE_ROUNDS = 4;

function refused(): CallerError {
  return new CallerError('invalid_request', 'returnTo must be a relative path on this site');
}

/**
 * @returns the normalised path (pathname + search + hash) to store with the flow; `/` when absent.
 * @throws CallerError `invalid_request` when the value is not a path on `origin` or its normal form is unsafe.
 */
export function normaliseReturnTo(value: string | undefined, origin: string): string {
  if (value === undefined || value === '') return '/';
  if (value.length > MAX_LENGTH) throw new CallerError('invalid_request', 'returnTo is too long');
  // A path, not a URL: the parser would accept "https://this.origin/x" too, but nobody needs it, and
  // refusing schemes and authorities outright leaves less to get right. Control characters (which the
  // parser silently drops: "/\t/evil" becomes "//evil") and backslashes are refused before parsing.
  if (!value.startsWith('/') || /[\x00-\x1F\x7F-\x9F\\]/.test(value)) throw refused();
  let resolved: URL;
  try {
    resolved = new URL(value, origin);
  } catch {
    throw refused();
  }
  if (resolved.origin !== origin) throw refused();
  const path = resolved.pathname + resolved.search + resolved.hash;
  if (!isSafeReturnPath(path)) throw refused();
  return path;
}

/**
 * The invariant of every Location we send after sign-in: printable ASCII, a single leading `/`, no
 * backslash, a path on the same origin when parsed again; and its path stays so through rounds of
 * percent-decoding, so that a server behind us that decodes `%2F` (or decodes twice) cannot turn it into
 * `//host` either.
 */
export function isSafeReturnPath(path: string): boolean {
  if (path.length > MAX_LENGTH * 3 || !/^[\x21-\x7E]+$/.test(path) || !staysHere(path)) return false;
  let current = new URL(path, PROBE_ORIGIN).pathname;
  for (let round = 0; round < DECODE_ROUNDS; round++) {
    const decoded = decodeAsciiEscapes(current);
    if (decoded === current) return true;
    if (/[\x00-\x1F\x7F]/.test(decoded) || !staysHere(decoded)) return false;
    current = decoded;
  }
  // Still changing after that many rounds: no real path is encoded this deep.
  return decodeAsciiEscapes(current) === current;
}

/** A single leading slash, no backslash, and the URL parser keeps it on the origin it is resolved against. */
function staysHere(path: string): boolean {
  if (!path.startsWith('/') || path.startsWith('//') || path.includes('\\')) return false;
  let reparsed: URL;
  try {
    reparsed = new URL(path, PROBE_ORIGIN);
  } catch {
    return false;
  }
  return reparsed.origin === PROBE_ORIGIN && !reparsed.pathname.startsWith('//');
}

/**
 * One round of percent-decoding, of ASCII escapes only (the only ones that can become `/`, `\`, `.` or a
 * control character); never throws on malformed sequences, which stay as they are.
 */
function decodeAsciiEscapes(text: string): string {
  return text.replace(/%([0-7][0-9A-Fa-f])/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}
