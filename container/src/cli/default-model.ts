import { resolve } from 'node:path';

/**
 * The model the CLI and `npm start` load when none is named: the small demo model trained for this
 * project (tools/demo-model/), which paints the coloured shapes it is asked for.
 */
export const DEMO_MODEL_DIR = resolve(__dirname, '..', '..', '..', 'models', 'shapes-demo');
