/**
 * Results that cross Durable Object RPC: AuthError classes do not survive it, so errors travel as data
 * (lib's serializeAuthError) and are rebuilt on the caller's side. Only the Workers adapters see this.
 */
import { AuthError, deserializeAuthError, serializeAuthError, type SerializedAuthError } from '../../lib/mod.ts';

export type RpcResult<T> = { ok: true; value: T } | { ok: false; error: SerializedAuthError };

/** In the Durable Object: an AuthError becomes data; anything else is a bug and stays thrown. */
export async function toRpcResult<T>(work: () => Promise<T>): Promise<RpcResult<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    if (error instanceof AuthError) return { ok: false, error: serializeAuthError(error) };
    throw error;
  }
}

/** In the Worker: the value, or the AuthError rebuilt and thrown. */
export function fromRpcResult<T>(result: RpcResult<T>): T {
  if (!result.ok) throw deserializeAuthError(result.error);
  return result.value;
}
