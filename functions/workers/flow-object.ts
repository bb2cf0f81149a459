/**
 * FlowObject: one SQLite-backed Durable Object per flow (auth code or device code), holding that
 * flow's state until it is consumed once or expires. A thin RPC shell: `consume` is a single
 * `DELETE … RETURNING`, so concurrent callbacks cannot both win; the alarm only collects garbage, and
 * expiry is checked on every read because alarms are at-least-once and may run late.
 */
import { DurableObject } from 'cloudflare:workers';

export class FlowObject extends DurableObject<Record<string, unknown>> {
  constructor(ctx: DurableObjectState, env: Record<string, unknown>) {
    super(ctx, env);
    ctx.storage.sql.exec('CREATE TABLE IF NOT EXISTS flow (id TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER NOT NULL)');
  }

  async put(id: string, value: string, ttlSeconds: number): Promise<void> {
    const expiresAt = Date.now() + ttlSeconds * 1000;
    this.ctx.storage.sql.exec('INSERT OR REPLACE INTO flow (id, value, expires_at) VALUES (?, ?, ?)', id, value, expiresAt);
    await this.ctx.storage.setAlarm(expiresAt);
  }

  consume(id: string): string | null {
    const row = this.ctx.storage.sql
      .exec<{ value: string; expires_at: number }>('DELETE FROM flow WHERE id = ? RETURNING value, expires_at', id)
      .toArray()[0];
    return row && row.expires_at > Date.now() ? row.value : null;
  }

  async alarm(): Promise<void> {
    this.ctx.storage.sql.exec('DELETE FROM flow WHERE expires_at <= ?', Date.now());
    const next = this.ctx.storage.sql.exec<{ next: number | null }>('SELECT MIN(expires_at) AS next FROM flow').toArray()[0]?.next;
    if (next) await this.ctx.storage.setAlarm(next);
  }
}
