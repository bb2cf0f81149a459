// Mutable per-IdP test state: request counters, queued faults, token lifetimes.
// One instance per startIdp() so parallel IdPs in one process don't interfere.

import { DEFAULTS } from './config.mjs';
import { ID_TOKEN_CRAFT_KINDS } from './id-token-craft.mjs';

export const FAULT_KINDS = new Set([
  '429', '500', '503', 'slow', 'nonjson', 'invalid_json', 'invalid_grant', 'interaction_required', 'step_up', 'oversize', 'slow_drip',
  // Device code polls (endpoint `token:device_code`): Entra's 400 answers.
  'slow_down', 'expired_token', 'authorization_declined', 'bad_verification_code',
  // B2C's "Forgot your password?" (endpoint `b2c:authorize`, b2c.mjs): the sign-in answers AADB2C90118.
  'b2c_forgot_password',
]);

/** Defaults of the body faults: bigger than any limit a client should set; a drip far slower than its timeout. */
export const BODY_FAULT_DEFAULTS = { bytes: 1024 * 1024, dripBytes: 16, dripIntervalMs: 250 };

export class TestControls {
  constructor() {
    this.reset();
  }

  reset() {
    /** @type {Record<string, number>} */
    this.countsByEndpoint = {};
    /** @type {Array<Required<Pick<Fault,'endpoint'|'kind'|'times'>> & Fault>} */
    this.faults = [];
    this.accessTokenTtl = DEFAULTS.accessTokenTtl;
    /** @type {number | undefined} */
    this.refreshIn = undefined;
    this.deviceCodeInterval = DEFAULTS.deviceCodeInterval;
    /** @type {Array<{ kind: string, times: number }>} pending ID-token crafts, FIFO */
    this.idTokenCrafts = [];
    /** After POST /_control/rotate-signing-key: the JWKS serves the new and the old key, ID tokens use the new one. */
    this.signingKeyRotated = false;
  }

  /** @param {string[]} keys e.g. ['token', 'token:client_credentials'] */
  count(keys) {
    for (const key of keys) this.countsByEndpoint[key] = (this.countsByEndpoint[key] ?? 0) + 1;
  }

  counts() {
    return { ...this.countsByEndpoint };
  }

  /**
   * @typedef {object} Fault
   * @property {string} endpoint  'token' | 'token:<grant>' | 'discovery' | 'keys' | 'authorize' | 'devicecode' | 'logout' | ...
   * @property {'429'|'500'|'503'|'slow'|'nonjson'|'invalid_json'|'invalid_grant'|'interaction_required'|'step_up'|'oversize'|'slow_drip'|'slow_down'|'expired_token'|'authorization_declined'|'bad_verification_code'|'b2c_forgot_password'} kind
   * @property {number} [times]       default 1
   * @property {number} [retryAfter]  seconds, Retry-After on 429/503 (and 500 if given)
   * @property {number} [delayMs]     for 'slow', default 15000
   * @property {number} [bytes]       for 'oversize': JSON whitespace put before the real answer, default 1 MiB
   * @property {number} [dripBytes]   for 'slow_drip': bytes per write, default 16
   * @property {number} [dripIntervalMs] for 'slow_drip': pause between writes, default 250
   * @property {string | object} [claims] for 'step_up'/'interaction_required': the claims challenge (an object is
   *   sent as its JSON text), default {"access_token":{"capolids":{"essential":true,"values":["c1"]}}}
   * @property {string} [clientId]    only requests from this client
   * @param {Fault} fault
   */
  addFault(fault) {
    if (!fault || typeof fault.endpoint !== 'string') throw new TypeError('fault.endpoint (string) is required');
    const kind = String(fault.kind);
    if (!FAULT_KINDS.has(kind)) throw new TypeError(`fault.kind must be one of ${[...FAULT_KINDS].join(', ')}`);
    if (kind === 'b2c_forgot_password' && fault.endpoint !== 'b2c:authorize') {
      throw new TypeError("fault.kind 'b2c_forgot_password' needs endpoint 'b2c:authorize'");
    }
    const times = fault.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw new TypeError('fault.times must be a positive integer');
    for (const name of ['bytes', 'dripBytes', 'dripIntervalMs']) {
      if (fault[name] !== undefined && (!Number.isInteger(fault[name]) || fault[name] < 1)) throw new TypeError(`fault.${name} must be a positive integer`);
    }
    if (fault.claims !== undefined && (fault.claims === null || !['string', 'object'].includes(typeof fault.claims))) {
      throw new TypeError('fault.claims must be a JSON string or an object');
    }
    this.faults.push({
      ...BODY_FAULT_DEFAULTS,
      ...fault,
      ...(fault.claims !== undefined ? { claims: typeof fault.claims === 'string' ? fault.claims : JSON.stringify(fault.claims) } : {}),
      kind,
      times,
      delayMs: fault.delayMs ?? DEFAULTS.slowDelayMs,
    });
  }

  /**
   * Take (and consume one use of) the first queued fault matching a request.
   * @param {string[]} endpointKeys keys the request counts under
   * @param {string | undefined} clientId
   * @param {(fault: Fault) => boolean} [applies]  a surface's own condition (e.g. B2C: only sign-in policies)
   */
  takeFault(endpointKeys, clientId, applies = () => true) {
    const i = this.faults.findIndex((f) =>
      endpointKeys.includes(f.endpoint) && (f.clientId === undefined || f.clientId === clientId) && applies(f));
    if (i === -1) return undefined;
    const fault = this.faults[i];
    fault.times -= 1;
    if (fault.times <= 0) this.faults.splice(i, 1);
    return fault;
  }

  /**
   * Queue a crafted ID token for the next `times` successful authorization_code
   * or refresh_token responses that carry an id_token.
   * @param {{ kind: string, times?: number }} craft
   */
  addIdTokenCraft(craft) {
    const kind = String(craft?.kind);
    if (!ID_TOKEN_CRAFT_KINDS.has(kind)) throw new TypeError(`id-token kind must be one of ${[...ID_TOKEN_CRAFT_KINDS].join(', ')}`);
    const times = craft.times ?? 1;
    if (!Number.isInteger(times) || times < 1) throw new TypeError('id-token times must be a positive integer');
    this.idTokenCrafts.push({ kind, times });
  }

  /** Take (and consume one use of) the first pending ID-token craft. @returns {string | undefined} kind */
  takeIdTokenCraft() {
    const craft = this.idTokenCrafts[0];
    // After a rotation every ID token is re-signed, unchanged, with the new key.
    if (!craft) return this.signingKeyRotated ? 'valid_resigned' : undefined;
    craft.times -= 1;
    if (craft.times <= 0) this.idTokenCrafts.shift();
    return craft.kind;
  }

  /** @param {{ accessTokenTtl?: number, refreshIn?: number | null }} opts */
  setTokenLifetime({ accessTokenTtl, refreshIn } = {}) {
    if (accessTokenTtl !== undefined) {
      if (!Number.isInteger(accessTokenTtl) || accessTokenTtl < 1) throw new TypeError('accessTokenTtl must be a positive integer');
      this.accessTokenTtl = accessTokenTtl;
    }
    if (refreshIn !== undefined) {
      if (refreshIn !== null && (!Number.isInteger(refreshIn) || refreshIn < 0)) throw new TypeError('refreshIn must be a non-negative integer or null');
      this.refreshIn = refreshIn ?? undefined;
    }
  }

  /** @param {number} seconds RFC 8628 polling interval advertised by /devicecode */
  setDeviceCodeInterval(seconds) {
    if (!Number.isInteger(seconds) || seconds < 0) throw new TypeError('interval must be a non-negative integer');
    this.deviceCodeInterval = seconds;
  }

  /** refresh_in rule: explicit value wins; else Entra's half-life hint for long-lived tokens. */
  refreshInFor(expiresIn) {
    if (this.refreshIn !== undefined) return this.refreshIn;
    return expiresIn >= 7200 ? Math.floor(expiresIn / 2) : undefined;
  }
}
