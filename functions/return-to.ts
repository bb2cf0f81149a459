/**
 * `returnTo` must be a path on this origin: it becomes a Location header after sign-in, so anything
 * that a browser could read as another origin (a scheme, `//host`, `\\host`, `/\host`, encoded or
 * control characters) is refused rather than repaired.
 */
import { CallerError } from '../lib/mod.ts';

const MAX_LENGTH = 2048;

export function validateReturnTo(value: string | undefined, origin: string): string {
  if (value === undefined || value === '') return '/';
  if (value.length > MAX_LENGTH) throw new CallerError('invalid_request', 'returnTo is too long');
  // Printable ASCII only: no CR/LF, no tabs (browsers strip them: "/\t/evil.com" becomes "//evil.com").
  if (!/^[\x21-\x7E]+$/.test(value)) throw new CallerError('invalid_request', 'returnTo must be a relative path on this site');
  if (!value.startsWith('/') || value.startsWith('//') || value.includes('\\') || /%(?:2f|5c)/i.test(value.slice(1, 4))) {
    throw new CallerError('invalid_request', 'returnTo must be a relative path on this site');
  }
  let resolved: URL;
  try {
    resolved = new URL(value, origin);
  } catch {
    throw new CallerError('invalid_request', 'returnTo must be a relative path on this site');
  }
  if (resolved.origin !== origin) throw new CallerError('invalid_request', 'returnTo must be a relative path on this site');
  return resolved.pathname + resolved.search + resolved.hash;
}
