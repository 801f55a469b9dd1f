import { defineConfig } from 'tsup';

/**
 * The one tsup setup every package builds with: ESM for Node 20, source maps, `node:`
 * imports kept as they are. Libraries ship .d.ts; the apps skip it (it is most of the build).
 */
export function buildConfig(opts: { entry: string | string[] | Record<string, string>; dts: boolean }) {
  return defineConfig({
    entry: typeof opts.entry === 'string' ? [opts.entry] : opts.entry,
    format: ['esm'],
    target: 'node20',
    dts: opts.dts,
    sourcemap: true,
    clean: true,
    removeNodeProtocol: false,
  });
}
