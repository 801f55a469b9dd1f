/**
 * Builds the benchmark harness (bench/src → bench/dist/main.js). @regcache/testkit is TypeScript
 * only (no dist/): it is bundled from its sources through the same `@regcache/source` export
 * condition the tests resolve it with. undici stays external (hoisted in the root node_modules).
 */
import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { main: 'bench/src/main.ts' },
  outDir: 'bench/dist',
  format: ['esm'],
  target: 'node20',
  platform: 'node',
  dts: false,
  sourcemap: true,
  clean: true,
  removeNodeProtocol: false,
  noExternal: ['@regcache/testkit'],
  external: ['undici'],
  esbuildOptions(options) {
    options.conditions = ['@regcache/source'];
  },
});
