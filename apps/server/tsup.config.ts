import { buildConfig } from '../../tsup.shared.js';

export default buildConfig({ entry: { main: 'src/main.ts', 'front-worker': 'src/front/front-worker.ts' }, dts: false });
