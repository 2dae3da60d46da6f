/** Container entry point (`serve`): settings from the environment, clean exit on SIGTERM. */
import { createJsonLogger } from './json-logger';
import { serverConfigFromEnv } from './server-config';
import { startEngineServer } from './start';

async function main(): Promise<void> {
  const logger = createJsonLogger();
  const config = serverConfigFromEnv();
  const server = await startEngineServer({ ...config, logger });
  logger.info('listening', { url: server.url, model_dir: config.modelDir });
  let stopping = false;
  server.ready.catch(() => {
    if (!stopping) process.exit(1);
  });

  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping', { signal });
    server.close().then(
      () => process.exit(0),
      (error: Error) => {
        logger.error('unclean stop', { error: error.message });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: Error) => {
  process.stderr.write(`${JSON.stringify({ level: 'error', message: 'failed to start', error: error.message })}\n`);
  process.exit(1);
});
