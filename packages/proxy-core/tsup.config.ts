import { buildConfig } from '../../tsup.shared.js';

export default buildConfig({ entry: ['src/index.ts', 'src/front.ts'], dts: true });
