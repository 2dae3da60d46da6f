/**
 * Starts the engine's HTTP server: it listens at once (so /ping can say 503 while loading), then
 * loads and warms up the model. Used by the container entry point, local mode and tests.
 */
import type { AddressInfo } from 'node:net';
import type { SafetyCheckerSetting } from '../../../contract/safety';
import type { DecoderChoice } from '../../../contract/decoder';
import type { ExecutionProviderChoice } from '../engine/onnx/execution-provider';
import { EngineService, type InvocationProgress } from './engine-service';
import { createEngineHttpServer } from './http-server';
import { createJsonLogger, type Logger } from './json-logger';

export interface StartEngineServerOptions {
  readonly modelDir: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 'auto' */
  readonly executionProvider?: ExecutionProviderChoice;
  /** @default 4 */
  readonly maxQueuedRequests?: number;
  /** @default 600000 */
  readonly requestTimeoutMs?: number;
  /** @default 5000 */
  readonly shutdownGraceMs?: number;
  /** @default false */
  readonly logPrompts?: boolean;
  /** @default 'model' */
  readonly safetyChecker?: SafetyCheckerSetting;
  /** onnxruntime's intra-op threads. @default - every CPU the host gives */
  readonly threads?: number;
  /** Which VAE decoder makes the images. @default 'auto' */
  readonly decoder?: DecoderChoice;
  /** @default - `taesd/` inside the model folder, else beside it */
  readonly tinyVaeDir?: string;
  /** @default - JSON lines on stdout */
  readonly logger?: Logger;
}

export interface RunningEngineServer {
  readonly url: string;
  /** Resolves when /ping answers 200; rejects if the model cannot be loaded. */
  readonly ready: Promise<void>;
  /**
   * The progress of the invocation sent with this request id (`X-Request-Id`), while it runs: for
   * callers in the same process, such as local mode.
   */
  progress(requestId: string): InvocationProgress | undefined;
  /** Stops accepting, finishes or cancels the running job, releases the model. */
  close(): Promise<void>;
}

export async function startEngineServer(options: StartEngineServerOptions): Promise<RunningEngineServer> {
  const logger = options.logger ?? createJsonLogger();
  let service: EngineService | undefined;
  const server = createEngineHttpServer({
    service: () => service,
    logger,
    requestTimeoutMs: options.requestTimeoutMs ?? 600_000,
    logPrompts: options.logPrompts ?? false,
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const loadStarted = performance.now();
  const loading = EngineService.load({
    modelDir: options.modelDir,
    executionProvider: options.executionProvider ?? 'auto',
    maxQueuedRequests: options.maxQueuedRequests ?? 4,
    safetyChecker: options.safetyChecker,
    threads: options.threads,
    decoder: options.decoder,
    tinyVaeDir: options.tinyVaeDir,
  });
  let closing: Promise<void> | undefined;
  const ready = loading.then((loaded) => {
    if (closing) {
      // Stopped while loading: nothing was served, so release the model and report not ready.
      void loaded.close(0);
      throw new Error('the server was stopped before the model finished loading');
    }
    service = loaded;
    logger.info('model ready', {
      model_dir: options.modelDir,
      execution_provider: loaded.pipeline.executionProvider,
      decoder: loaded.pipeline.decoder,
      load_ms: Math.round(performance.now() - loadStarted),
      content_filter: loaded.model.content_filter,
    });
    const { warning } = loaded.pipeline.safetyFilter;
    if (warning) logger.warn(`no content filter: ${warning}`, { model_dir: options.modelDir });
  });
  ready.catch((error: Error) => logger.error('model failed to load', { model_dir: options.modelDir, error: error.message }));

  const close = () => {
    closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      // A model still loading has no job to finish; waiting for it would hold SIGTERM for minutes on a real GPU.
      await service?.close(options.shutdownGraceMs ?? 5_000);
      // Let the answers to finished or cancelled jobs reach their clients before cutting connections.
      server.closeIdleConnections();
      const flushed = await Promise.race([stopped.then(() => true), delay(1_000).then(() => false)]);
      if (!flushed) {
        server.closeAllConnections();
        await stopped;
      }
    })();
    return closing;
  };
  const displayHost = host === '0.0.0.0' ? '127.0.0.1' : host;
  return { url: `http://${displayHost}:${port}`, ready, close, progress: (requestId) => service?.progressOf(requestId) };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
