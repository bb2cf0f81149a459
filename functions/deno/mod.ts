/** `edge-token-functions/deno`: the whole app over Deno KV, as a handler for `Deno.serve` or `deno serve`. */
export { createDenoHandler, type DenoHandler, type DenoHandlerOptions } from './main.ts';
