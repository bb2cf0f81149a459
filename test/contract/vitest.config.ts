/**
 * The contract suite alone inside workerd, before (or besides) the project's vitest.config.ts including it:
 * `npx vitest run -c test/contract/vitest.config.ts [files]`. The project's configuration, with only
 * `include` narrowed to this folder.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, type ConfigEnv, type ViteUserConfig } from 'vitest/config';
import project from '../../vitest.config.ts';

type ConfigFunction = (env: ConfigEnv) => Promise<ViteUserConfig>;

export default defineConfig(async (env) => {
  const config = await (project as unknown as ConfigFunction)(env);
  return {
    ...config,
    root: fileURLToPath(new URL('../..', import.meta.url)),
    test: { ...config.test, include: ['test/contract/**/*.test.ts'] },
  };
});
