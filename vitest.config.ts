import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // expect.poll waits for a real condition; 1 s (vitest's default) is too short for a browser or a
    // child process on a loaded 2-core machine (a console click took longer in a full CI run)
    expect: { poll: { timeout: 10_000 } },
  },
});
