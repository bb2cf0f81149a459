/** The project brings its own Node: vitest and the identity provider must not run on the machine's Node 20. */
import { expect, test } from 'vitest';
import { idp } from './harness.ts';

test('vitest and the identity provider run on Node >= 22.12', () => {
  const [major, minor] = idp.nodeVersion.split('.').map(Number) as [number, number];
  expect(major > 22 || (major === 22 && minor >= 12)).toBe(true);
});
