import { defineConfig } from 'vitest/config';

/** `npm run test:reliability`: the slow reliability scenarios (minutes), run by .ci/run after `npm test`. */
export default defineConfig({
  test: {
    include: ['test/reliability/slow/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
