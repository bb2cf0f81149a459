/**
 * Client addresses for headless browsers and devices, on any runtime: the deployment reads the client's
 * address from `CF-Connecting-IP` (Workers) or the connection (Deno; the contract suite passes the header's
 * value as the connection's address), and counts its rate limits per address.
 */

/** A client address of its own (IPv6 documentation range), so that browsers never share a rate-limit bucket. */
export function randomClientIp(): string {
  const groups = [...crypto.getRandomValues(new Uint16Array(4))].map((n) => n.toString(16));
  return `2001:db8:${groups.join(':')}::1`;
}
