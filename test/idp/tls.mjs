// Certificate helpers. We shell out to the openssl CLI (rather than writing a
// DER encoder) because it is available on every dev/CI box we target and its
// output is exactly what real tooling produces.

import { execFile } from 'node:child_process';
import { createHash, createPublicKey, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const OPENSSL = process.env.OPENSSL ?? 'openssl';

/**
 * Self-signed RSA-2048 certificate + key, written into `dir`.
 * @param {string} dir
 * @param {{ name: string, cn: string, san?: string }} opts
 * @returns {Promise<{ keyPath: string, certPath: string, privateKeyPem: string, certificatePem: string }>}
 */
export async function generateSelfSigned(dir, { name, cn, san }) {
  const keyPath = join(dir, `${name}-key.pem`);
  const certPath = join(dir, `${name}-cert.pem`);
  const args = [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '30',
    '-keyout', keyPath, '-out', certPath, '-subj', `/CN=${cn}`,
  ];
  if (san) args.push('-addext', `subjectAltName=${san}`);
  await run(OPENSSL, args);
  const [privateKeyPem, certificatePem] = await Promise.all([
    readFile(keyPath, 'utf8'),
    readFile(certPath, 'utf8'),
  ]);
  return { keyPath, certPath, privateKeyPem, certificatePem };
}

/** TLS server certificate for loopback: SAN covers both 127.0.0.1 and localhost. */
export function generateTlsCertificate(dir) {
  return generateSelfSigned(dir, { name: 'tls', cn: 'localhost', san: 'IP:127.0.0.1,DNS:localhost' });
}

/** Client-credential certificate (what an Entra app registration would hold). */
export function generateClientCertificate(dir, clientId) {
  return generateSelfSigned(dir, { name: 'client', cn: clientId });
}

/** SHA-256 over the certificate DER: the value Entra/MSAL put in `x5t#S256`. */
export function certificateThumbprints(certificatePem) {
  const der = new X509Certificate(certificatePem).raw;
  return {
    sha256Hex: createHash('sha256').update(der).digest('hex'),
    sha256B64u: createHash('sha256').update(der).digest('base64url'),
    sha1B64u: createHash('sha1').update(der).digest('base64url'),
  };
}

/**
 * Public JWK for a client certificate. kid = x5t#S256 so assertions that send
 * only `x5t#S256` (no kid) and ones that use it as kid both resolve the key.
 * No `alg` member: that keeps RS256 and PS256 assertions both acceptable.
 */
export function clientJwkFromCertificate(certificatePem) {
  const { sha256B64u, sha1B64u } = certificateThumbprints(certificatePem);
  const jwk = createPublicKey(certificatePem).export({ format: 'jwk' });
  return { ...jwk, kid: sha256B64u, use: 'sig', 'x5t#S256': sha256B64u, x5t: sha1B64u };
}
