/**
 * Incoming access tokens (on-behalf-of assertions) already validated in this isolate, by hash, until
 * their `exp`: a repeat costs one hash, not a signature check. Bounded; the oldest entries leave first.
 */

const MAX_REMEMBERED_ASSERTIONS = 10_000;

export class ValidatedAssertions {
  private readonly entries = new Map<string, { expiresAt: number; claims: Record<string, unknown> }>();

  get(hash: string, now: number): Record<string, unknown> | undefined {
    const entry = this.entries.get(hash);
    if (!entry) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(hash);
      return undefined;
    }
    return entry.claims;
  }

  remember(hash: string, claims: Record<string, unknown>): void {
    if (typeof claims.exp !== 'number') return;
    if (this.entries.size >= MAX_REMEMBERED_ASSERTIONS) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(hash, { expiresAt: claims.exp * 1000, claims });
  }
}

