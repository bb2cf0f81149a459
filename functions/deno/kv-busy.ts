/**
 * A Deno KV file that several processes open (SQLite underneath) refuses a write that meets another
 * one with `TypeError: database is locked`, rather than waiting. Such writes are retried here, after a
 * short random pause, for up to about two seconds; anything else is thrown at once.
 */
const MAX_ATTEMPTS = 50;

function isBusy(error: unknown): boolean {
  return error instanceof TypeError && /database is (?:locked|busy)/i.test(error.message);
}

/** Runs `write` (a commit, a set, a delete) until the store takes it. */
export async function whenNotBusy<T>(write: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!isBusy(error) || attempt >= MAX_ATTEMPTS) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(80, 2 ** attempt)));
    }
  }
}
