/**
 * `edge-token-functions/workers`: the Workers runtime for the route groups and the Durable Object classes
 * your Worker re-exports (bind them in your wrangler.toml as this project's does).
 */
export { workersRuntime, BINDING_NAMES, type BindingName, type WorkersRuntimeOptions } from './runtime.ts';
export { FlowObject } from './flow-object.ts';
export { AccountObject } from './account-object.ts';
export { DeviceFlowObject } from './device-flow-object.ts';
export { TokenFlightObject } from './token-flight-object.ts';
