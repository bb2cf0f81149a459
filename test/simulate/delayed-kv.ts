/**
 * Workers KV as one location sees it, over one shared namespace: a write is visible at once in the
 * location that made it and in every other location only `delayMs` later (Workers KV: "up to 60 seconds
 * or more"); until then another location reads the newest write it can see — an older one, or none (a
 * miss). Every write is kept as a version of its own (`<key>|<at>|<location>`, with the key's TTL), so a
 * read lists the key's versions, picks the newest visible one, and reads it: two operations, as against
 * one for the binding. Deletes are modelled as immediate everywhere (the Worker deletes nothing on these
 * paths). The same KV-shaped surface as the binding (`get(key, 'text')`, `put(key, value, {
 * expirationTtl })`, `delete`), which is all KVCacheStore uses.
 */

export class DelayedKv {
  private readonly kv: KVNamespace;
  private readonly location: string;
  private readonly delayMs: number;

  constructor(kv: KVNamespace, location: string, delayMs: number) {
    this.kv = kv;
    this.location = location;
    this.delayMs = delayMs;
  }

  async get(key: string, _type: 'text' = 'text'): Promise<string | null> {
    const now = Date.now();
    let newest: { name: string; at: number } | undefined;
    let cursor: string | undefined;
    do {
      const page = await this.kv.list({ prefix: `${key}|`, ...(cursor ? { cursor } : {}) });
      for (const { name } of page.keys) {
        const [at, location] = name.slice(key.length + 1).split('|') as [string, string];
        const visible = location === this.location || Number(at) + this.delayMs <= now;
        if (visible && (!newest || Number(at) > newest.at)) newest = { name, at: Number(at) };
      }
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    return newest ? this.kv.get(newest.name, 'text') : null;
  }

  put(key: string, value: string, options: { expirationTtl?: number } = {}): Promise<void> {
    // Fixed-width times: versions list in the order they were written.
    return this.kv.put(`${key}|${String(Date.now()).padStart(15, '0')}|${this.location}`, value, options);
  }

  async delete(key: string): Promise<void> {
    const page = await this.kv.list({ prefix: `${key}|` });
    await Promise.all(page.keys.map(({ name }) => this.kv.delete(name)));
  }
}
