/**
 * How the Durable Objects read their env: under the binding names and settings the Worker's runtime was
 * configured with (workersRuntime), so that a user's Worker with its own names serves its objects too.
 * Its own module: the objects depend on this rule, not on the runtime that sets it.
 */
let view: (env: Record<string, unknown>) => Record<string, unknown> = (env) => env;

export function setObjectEnvironment(rule: (env: Record<string, unknown>) => Record<string, unknown>): void {
  view = rule;
}

export function objectEnvironment(env: Record<string, unknown>): Record<string, unknown> {
  return view(env);
}
