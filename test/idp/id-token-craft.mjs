// Crafted ID tokens for relying-party rejection tests.
//
// Each kind takes the real ID token oidc-provider just issued and derives a
// defective one from it (same header and claims unless the kind changes them).
// "Real key" means the provider's signing JWK, the one served at
// /{tenant}/discovery/v2.0/keys (same kid, RS256).

import { createHmac, createPublicKey, generateKeyPair, generateKeyPairSync, randomBytes } from 'node:crypto';
import { promisify } from 'node:util';

import { CompactSign, importJWK } from 'jose';

const generateKeyPairAsync = promisify(generateKeyPair);

export const ID_TOKEN_CRAFT_KINDS = new Set([
  'bad_signature', 'alg_none', 'hs256_public_key', 'unknown_kid', 'wrong_aud', 'wrong_iss',
  'wrong_nonce', 'missing_nonce', 'expired', 'iat_future', 'valid_resigned', 'other_subject', 'missing_kid',
]);

/** Original signing JWK → the key it was rotated to (server.mjs POST /_control/rotate-signing-key). */
const rotations = new WeakMap();

/** A new signing key for the IdP whose original key is `signingJwk`; crafted ID tokens use it from now on. */
export function rotateSigningKey(signingJwk) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rotated = { ...privateKey.export({ format: 'jwk' }), kid: `idp-rotated-${randomBytes(4).toString('hex')}`, use: 'sig', alg: 'RS256' };
  rotations.set(signingJwk, rotated);
  return rotated;
}

/** Back to the original key (POST /_control/reset). */
export function resetSigningKey(signingJwk) {
  rotations.delete(signingJwk);
}

/** The key ID tokens are signed with now: the rotated one, if any. */
export function currentSigningJwk(signingJwk) {
  return rotations.get(signingJwk) ?? signingJwk;
}

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
  /** @type {Map<object, Promise<import('jose').KeyLike | CryptoKey>>} imported keys, by JWK (original, rotated) */
  const imported = new Map();
  const getRealKey = (jwk) => {
    if (!imported.has(jwk)) imported.set(jwk, importJWK(jwk, 'RS256'));
    return imported.get(jwk);
  };

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
    // The "real key" is the one the IdP signs with now: after a rotation, the new one.
    const realJwk = currentSigningJwk(signingJwk);
    // Re-signing keeps oidc-provider's header (alg RS256, typ, kid of the real key).
    const realHeader = { ...header, alg: 'RS256', kid: realJwk.kid };
    const resign = async (claims) => sign(realHeader, claims, await getRealKey(realJwk));

    switch (kind) {
      case 'bad_signature': {
        const sig = Buffer.from(signatureSeg, 'base64url');
        sig[sig.length >> 1] ^= 0xff;
        return `${headerSeg}.${payloadSeg}.${sig.toString('base64url')}`;
      }
      case 'alg_none':
        return `${b64json({ alg: 'none', typ: 'JWT' })}.${payloadSeg}.`;
      case 'hs256_public_key': {
        const signingInput = `${b64json({ alg: 'HS256', kid: realJwk.kid })}.${payloadSeg}`;
        return `${signingInput}.${createHmac('sha256', publicKeyPem(realJwk)).update(signingInput).digest('base64url')}`;
      }
      case 'missing_kid': {
        const { kid: _drop, ...noKid } = realHeader;
        return sign(noKid, payload, await getRealKey(realJwk));
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
      case 'other_subject':
        // A well-formed token of another user: what a continuity check on refresh must refuse.
        return resign({ ...payload, sub: `other-${randomBytes(8).toString('hex')}`, oid: '00000000-0000-4000-8000-00000000beef' });
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
