// What the benchmarks load: the public client, plus the cache internals they fill the store with.
export { ConfidentialClientApplication } from '../../lib/mod.ts';
export { TokenCache } from '../../lib/cache/token-cache.ts';
export { parseClientSettings } from '../../lib/config.ts';
