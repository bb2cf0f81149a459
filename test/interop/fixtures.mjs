// Shared by the msal-node interop suites: the app and users they sign in with, a Map-backed CacheStore
// (lib/storage/ports.ts), and a JWT payload reader.
import { CLIENT_SECRETS } from '../idp/config.mjs';
import { USERS } from '../idp/server.mjs';

export const SCOPES = ['api://downstream/read'];
export const CLIENT_ID = 'web-app';
export const CLIENT_SECRET = CLIENT_SECRETS.webApp;
export const [ALICE, BOB] = USERS;

export class MapStore {
  map = new Map();
  async get(key) {
    return this.map.get(key) ?? null;
  }
  async put(key, value) {
    this.map.set(key, value);
  }
  async delete(key) {
    this.map.delete(key);
  }
}

/** The payload of a JWT (no verification). */
export const jwtClaims = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
