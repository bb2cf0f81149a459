// The smoke scripts' tiny harness: named checks that log ok/FAIL, an assert with the value seen, and
// the closing tally that sets the exit code.

const results = [];

export async function check(name, fn) {
  const started = performance.now();
  try {
    const note = await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${Math.round(performance.now() - started)} ms)${note ? ` — ${note}` : ''}`);
  } catch (err) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}: ${err?.stack ?? err}`);
  }
}

export function assert(cond, msg, extra) {
  if (!cond) throw new Error(`${msg}${extra !== undefined ? `\n  got: ${JSON.stringify(extra)}` : ''}`);
}

/** Prints how many checks passed and exits non-zero when any failed. */
export function finish() {
  const failed = results.filter((r) => !r.ok);
  console.log(`\n${results.length - failed.length}/${results.length} checks passed`);
  process.exit(failed.length ? 1 : 0);
}
