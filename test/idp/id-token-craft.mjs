// Crafted ID tokens for relying-party rejection tests.
//
// Each kind takes the real ID token oidc-provider just issued and derives a
// defective one from it (same header and claims unless the kind changes them).
// "Real key" means the provider's signing JWK, the one served at
// /{tenant}/discovery/v2.0/keys (same kid, RS256).

import { createHmac, createPublicKey, generateKeyPair, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

import { CompactSign, importJWK } from 'jose';

const generateKeyPairAsync = promisify(generateKeyPair);

export const ID_TOKEN_CRAFT_KINDS = new Set([
  'bad_signature', 'alg_none', 'hs256_public_key', 'unknown_kid', 'wrong_aud', 'wrong_iss',
  'wrong_nonce', 'missing_nonce', 'expired', 'iat_future', 'valid_resigned',
]);

/** The public half of a private RSA JWK (kid/use/alg kept). */
export function publicJwkOf(signingJwk) {
  const { kty, n, e, kid, use, alg } = signingJwk;
  return { kty, n, e, kid, use, alg };
}

/** SPKI PEM text of the signing key's public half: the HMAC secret of `hs256_public_key`. */
export function publicKeyPem(signingJwk) {
  return createPublicKey({ key: publicJwkOf(signingJwk), format: 'jwk' }).export({ type: 'spki', format: 'pem' });
}

const b64json = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
const parseSegment = (segment) => JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));

/**
 * Builds crafted ID tokens for one IdP (one signing key, one origin).
 * @param {{ signingJwk: object, origin: string }} o
 */
export function createIdTokenCrafter({ signingJwk, origin }) {
  /** @type {Promise<import('jose').KeyLike | CryptoKey> | undefined} */
  let realKey;
  const getRealKey = () => (realKey ??= importJWK(signingJwk, 'RS256'));
  const hmacSecret = publicKeyPem(signingJwk);

  async function sign(header, payload, key) {
    return new CompactSign(Buffer.from(JSON.stringify(payload))).setProtectedHeader(header).sign(key);
  }

  /**
   * @param {string} idToken real compact JWS from oidc-provider
   * @param {string} kind    one of ID_TOKEN_CRAFT_KINDS
   * @returns {Promise<string>}
   */
  return async function craft(idToken, kind) {
    const [headerSeg, payloadSeg, signatureSeg] = idToken.split('.');
    const header = parseSegment(headerSeg);
    const payload = parseSegment(payloadSeg);
    const now = Math.floor(Date.now() / 1000);
    // Re-signing keeps oidc-provider's header (alg RS256, typ, kid of the real key).
    const realHeader = { ...header, alg: 'RS256', kid: signingJwk.kid };
    const resign = async (claims) => sign(realHeader, claims, await getRealKey());

    switch (kind) {
      case 'bad_signature': {
        const sig = Buffer.from(signatureSeg, 'base64url');
        sig[sig.length >> 1] ^= 0xff;
        return `${headerSeg}.${payloadSeg}.${sig.toString('base64url')}`;
      }
      case 'alg_none':
        return `${b64json({ alg: 'none', typ: 'JWT' })}.${payloadSeg}.`;
      case 'hs256_public_key': {
        const signingInput = `${b64json({ alg: 'HS256', kid: signingJwk.kid })}.${payloadSeg}`;
        return `${signingInput}.${createHmac('sha256', hmacSecret).update(signingInput).digest('base64url')}`;
      }
      case 'unknown_kid': {
        const { privateKey } = await generateKeyPairAsync('rsa', { modulusLength: 2048 });
        return sign({ ...realHeader, kid: `unknown-${randomBytes(8).toString('hex')}` }, payload, privateKey);
      }
      case 'wrong_aud':
        return resign({ ...payload, aud: 'some-other-client' });
      case 'wrong_iss':
        return resign({ ...payload, iss: `${origin}/00000000-0000-0000-0000-000000000000/v2.0` });
      case 'wrong_nonce':
        return resign({ ...payload, nonce: 'not-the-nonce' });
      case 'missing_nonce': {
        const { nonce: _drop, ...rest } = payload;
        return resign(rest);
      }
      case 'expired':
        return resign(withTimes(payload, { iat: now - 7200, exp: now - 3600 }));
      case 'iat_future':
        return resign(withTimes(payload, { iat: now + 3600, exp: now + 7200 }));
      case 'valid_resigned':
        return resign(payload);
      default:
        throw new TypeError(`unknown id_token craft kind ${kind}`);
    }
  };
}

/** Move iat/exp (and nbf, auth_time if present, so they stay consistent with iat). */
function withTimes(payload, { iat, exp }) {
  const out = { ...payload, iat, exp };
  if (out.nbf !== undefined) out.nbf = iat;
  if (out.auth_time !== undefined) out.auth_time = Math.min(out.auth_time, iat);
  return out;
}
