/**
 * How our confidential client proves itself at the token endpoint: a client secret (HTTP Basic or in
 * the body) or a certificate, as an RFC 7523 `private_key_jwt` assertion signed with Web Crypto.
 * oauth4webapi builds a fresh assertion (new `jti`) for every request: providers may reject a replay.
 */
import * as oauth from 'oauth4webapi';
import { ClientConfigurationError } from '../errors.ts';
import { base64url, fromBase64url, fromHex } from '../encoding.ts';

export type ClientCredential =
  | { kind: 'secret'; secret: string; method: 'basic' | 'post' }
  | {
      kind: 'certificate';
      privateKey: CryptoKey;
      /** The certificate thumbprint header: `x5t#S256` (SHA-256) or Entra's legacy `x5t` (SHA-1). */
      thumbprint: { header: 'x5t#S256' | 'x5t'; value: string };
    };

export type AssertionAlgorithm = 'PS256' | 'RS256';

const IMPORT_PARAMS: Record<AssertionAlgorithm, { name: string; hash: string }> = {
  PS256: { name: 'RSA-PSS', hash: 'SHA-256' },
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
};

/**
 * Imports an RSA PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) for signing assertions.
 * @throws ClientConfigurationError naming `setting`, never echoing the key.
 */
export async function importCertificateKey(pem: string, algorithm: AssertionAlgorithm, setting = 'CLIENT_CERTIFICATE'): Promise<CryptoKey> {
  const match = /-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s\\rn]+)-----END PRIVATE KEY-----/.exec(pem);
  if (!match) throw new ClientConfigurationError(setting, 'must contain a PKCS#8 PEM private key (BEGIN PRIVATE KEY)');
  // Secrets pasted into env files often carry literal "\n" sequences instead of newlines.
  const body = match[1]!.replace(/\\r|\\n/g, '').replace(/\s+/g, '');
  const der = fromBase64url(body.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, ''));
  if (!der) throw new ClientConfigurationError(setting, 'is not valid base64');
  try {
    return await crypto.subtle.importKey('pkcs8', der, IMPORT_PARAMS[algorithm], false, ['sign']);
  } catch {
    throw new ClientConfigurationError(setting, 'is not an RSA private key that Web Crypto can import');
  }
}

/**
 * Accepts the certificate thumbprint as hex (SHA-256: 64 digits, SHA-1: 40 digits, with or without
 * colons) or as base64url SHA-256.
 * @throws ClientConfigurationError
 */
export function parseThumbprint(input: string, setting = 'CLIENT_CERTIFICATE_THUMBPRINT'): { header: 'x5t#S256' | 'x5t'; value: string } {
  const hex = input.replace(/:/g, '').trim();
  const bytes = fromHex(hex) ?? fromBase64url(input.trim());
  if (bytes?.length === 32) return { header: 'x5t#S256', value: base64url(bytes) };
  if (bytes?.length === 20 && fromHex(hex)) return { header: 'x5t', value: base64url(bytes) };
  throw new ClientConfigurationError(setting, 'must be the certificate SHA-256 (or SHA-1) thumbprint in hex');
}

/** Client authentication for one authorization server; assertions are addressed to its token endpoint. */
export function clientAuthenticationFor(credential: ClientCredential, as: oauth.AuthorizationServer): oauth.ClientAuth {
  if (credential.kind === 'secret') {
    return credential.method === 'basic' ? oauth.ClientSecretBasic(credential.secret) : oauth.ClientSecretPost(credential.secret);
  }
  const { header, value } = credential.thumbprint;
  return oauth.PrivateKeyJwt(credential.privateKey, {
    [oauth.modifyAssertion](assertionHeader, payload) {
      assertionHeader[header] = value;
      // Entra requires the token endpoint as the audience; oauth4webapi defaults to the issuer.
      if (as.token_endpoint) payload.aud = as.token_endpoint;
    },
  });
}
