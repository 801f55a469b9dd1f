import { defineConfig } from 'vitest/config';

/**
 * Shared vitest settings: tests run against the packages' TypeScript sources through the
 * `@regcache/source` export condition (no build first), and each package writes a JSON
 * report that `.ci/run` sums into its closing `N passed, N failed` line.
 */
export function packageTestConfig(opts: { testTimeout?: number } = {}) {
  return defineConfig({
    resolve: { conditions: ['@regcache/source'] },
    ssr: { resolve: { conditions: ['@regcache/source'] } },
    test: {
      include: ['test/**/*.test.ts'],
      testTimeout: opts.testTimeout ?? 20_000,
      hookTimeout: 60_000,
      allowOnly: false,
      reporters: ['default', 'json'],
      outputFile: { json: 'reports/vitest.json' },
    },
  });
}
