import { cloudflareTest } from '@cloudflare/vitest-plugin';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: './wrangler.toml' },
      miniflare: {
        // Settings come from each test (see test/workers/harness.ts); only the bindings are real here.
        bindings: {},
      },
    }),
  ],
  test: {
    include: ['test/workers/**/*.test.ts', 'test/lib/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // One identity provider serves every file, and tests read its request counters.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
