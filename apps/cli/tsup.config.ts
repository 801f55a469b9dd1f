import { buildConfig } from '../../tsup.shared.js';

export default buildConfig({ entry: 'src/main.ts', dts: false });
