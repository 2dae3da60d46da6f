/**
 * `npm start`: the whole system on this machine. Prints the URL (first line on stdout, so scripts
 * and tests can read it) and the model, and stops cleanly on Ctrl-C or SIGTERM.
 *
 * PORT (default 8787, 0 = any free port), HOST (default 127.0.0.1), MODEL_DIR (default the bundled
 * demo model, models/shapes-demo), LOCAL_DATA_DIR (default `.local/`), and the gateway's QUOTA_PER_IP_PER_DAY,
 * QUOTA_GLOBAL_PER_DAY, COLD_START_SECONDS, SECONDS_PER_IMAGE, ENGINE_TIMEOUT_SECONDS (default 900), LOG_LEVEL,
 * EMBED_ORIGINS (origins of pages that may embed the generator through /embed.js, comma-separated; http
 * allowed for a local blog), and SAFETY_CHECKER (model, the default: the model's own safety checker where its
 * folder has one; off: none).
 */
import { resolve } from 'node:path';
import { DEMO_MODEL_DIR } from '../container/src/cli/default-model';
import { startLocalStack } from './local-stack';

const REPOSITORY = resolve(__dirname, '..');
const DEFAULT_PORT = 8787;

function portFrom(text: string | undefined): number {
  if (text === undefined || text === '') return DEFAULT_PORT;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`PORT must be 0-65535 but is ${JSON.stringify(text)}`);
  return port;
}

async function main(): Promise<void> {
  const modelDir = resolve(process.env.MODEL_DIR || DEMO_MODEL_DIR);
  const stack = await startLocalStack({
    modelDir,
    port: portFrom(process.env.PORT),
    host: process.env.HOST || undefined,
    dataDir: resolve(process.env.LOCAL_DATA_DIR || resolve(REPOSITORY, '.local')),
    env: process.env,
  });
  process.stdout.write(`Serverless Diffusion is running at ${stack.url}\n`);
  if (stack.embedOrigins.length > 0) {
    process.stdout.write(`Pages at ${stack.embedOrigins.join(', ')} may embed it: <script src="${stack.url}/embed.js" async></script>\n`);
  }
  process.stdout.write(`Model: ${stack.modelDir} (loading; the page shows "warming" until it is ready)\n`);
  stack.engineReady.then(
    () => process.stdout.write('Model ready. Press Ctrl-C to stop.\n'),
    (error: Error) => {
      process.stderr.write(`The model could not be loaded: ${error.message}\n`);
      void stack.close().finally(() => process.exit(1));
    },
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping…\n`);
    stack.close().then(
      () => process.exit(0),
      (error: Error) => {
        process.stderr.write(`stop failed: ${error.message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: Error) => {
  process.stderr.write(`npm start failed: ${error.message}\n`);
  process.exit(1);
});
