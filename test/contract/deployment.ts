/**
 * What target.ts and the runtime modules share: the base deployment's fixed settings and the types. Its own
 * module (without top-level await) because target.ts loads a runtime module that needs these.
 */
/** Where the deployment answers: its REDIRECT_URI and ALLOWED_ORIGINS name this origin. */
export const APP_ORIGIN = 'https://worker.test';

/**
 * The sign-in settings of the base deployment (on workerd: vitest.config.ts's bindings, checked at load).
 * The authority, client and keys come from the runtime (the provider's address is known only at run time).
 */
export const SIGN_IN_SETTINGS = {
  REDIRECT_URI: `${APP_ORIGIN}/auth/callback`,
  SPA_SCOPES: 'api://downstream/read',
  ALLOWED_ORIGINS: APP_ORIGIN,
  POST_LOGOUT_REDIRECT_URI: `${APP_ORIGIN}/`,
  PROVIDER_RETRY_DELAY_MS: '50',
} as const;

/** What the contract tests know of the local provider (a subset of test/global-setup.ts's IdpInfo; Deno: IDP_INFO). */
export interface ContractIdp {
  origin: string;
  /** The primary tenant's authority, `${origin}/${tenants.primary}`: the base deployment's AUTHORITY. */
  authority: string;
  authoritySecondary: string;
  tenants: { primary: string; secondary: string };
  webApp: { clientId: string; clientSecret: string };
}

export type Settings = Record<string, string>;
export type Overrides = Record<string, string | undefined>;

/** One deployment: requests go to its fetch handler, as the runtime would deliver them. */
export interface App {
  /** Answers one request; on workerd after the request's background work (waitUntil) has finished. */
  fetch(request: Request): Promise<Response>;
  /** The settings it runs with (the base settings and the test's overrides). */
  readonly settings: Readonly<Settings>;
}

/** What each runtime module (runtime-workerd.ts, runtime-deno.ts) exports. */
export interface Runtime {
  readonly name: 'workerd' | 'deno';
  readonly idp: ContractIdp;
  /** The base settings every `app()` starts from (without CALLERS). */
  readonly baseSettings: Readonly<Settings>;
  deployment(settings: Settings): Promise<App>;
}

/** 256 random bits, base64url: a value for TOKEN_CACHE_KEY or SESSION_KEY. */
export function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
