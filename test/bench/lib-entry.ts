// What the benchmarks load: the public client, plus the internals they fill the stores with.
export { ConfidentialClientApplication, deriveSealingKey, seal } from '../../lib/mod.ts';
export { TokenCache, storageKeyFor } from '../../lib/cache/token-cache.ts';
export { accessTokenKey, queryOf } from '../../lib/cache/entities.ts';
export { parseAuthority } from '../../lib/oauth/authority.ts';
export { parseClientSettings } from '../../lib/config.ts';
