import { mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { createJsonLogger, type LogLevel } from '../container/src/server/json-logger';
import { decoderFromEnv } from '../container/src/server/server-config';
import { startEngineServer, type RunningEngineServer } from '../container/src/server/start';
import { buildSite } from '../site/build';
import { frameOptionsHeader, siteContentSecurityPolicy } from '../site/content-security-policy';
import { safetyCheckerFromEnv } from '../contract/safety';
import { threadsFromEnv } from '../contract/engine-threads';
import { EngineHttpClient } from '../lambda/src/backends/engine-http-client';
import { LocalEngineBackend } from './local-engine-backend';
import { readGatewayConfig, type Environment } from '../lambda/src/config';
import { type Clock, systemClock } from '../lambda/src/clock';
import { createGateway } from '../lambda/src/gateway';
import { GatewayError } from '../lambda/src/http/errors';
import { errorResponse } from '../lambda/src/http/responses';
import { FileImageStore, LOCAL_IMAGES_PATH } from '../lambda/src/images/file-image-store';
import { FileJobStore } from '../lambda/src/jobs/file-job-store';
import { GatewayMetrics } from '../lambda/src/metrics';
import { MemoryCounterStore } from '../lambda/src/quota/counter-store';
import { QuotaGuard } from '../lambda/src/quota/quota-guard';
import { StatusCache } from '../lambda/src/status/status-cache';
import { parseEmbedOrigins } from './embed-origins';
import { loadOrCreateLocalSecrets } from './local-secrets';
import { BodyTooLargeError, MAX_ADAPTER_BODY_BYTES, readBody, sendProxyResult, toProxyEvent } from './proxy-event';
import { sendFile } from './static-files';

/** Settings a laptop needs that AWS takes from the stack; each can be overridden by the environment. */
export const LOCAL_DEFAULTS = {
  QUOTA_PER_IP_PER_DAY: '200',
  QUOTA_GLOBAL_PER_DAY: '1000',
  /** Loading the bundled tiny model takes about a second. */
  COLD_START_SECONDS: '5',
  SECONDS_PER_IMAGE: '2',
  /** A generation on a CPU can take minutes; past this a job fails with `timeout`. */
  ENGINE_TIMEOUT_SECONDS: '900',
} as const;

function engineTimeoutMs(env: Environment): number {
  const value = env.ENGINE_TIMEOUT_SECONDS ?? LOCAL_DEFAULTS.ENGINE_TIMEOUT_SECONDS;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`ENGINE_TIMEOUT_SECONDS must be a positive number of seconds but is ${JSON.stringify(value)}`);
  return seconds * 1000;
}

export interface LocalStackOptions {
  /** Diffusers ONNX model folder for the engine. */
  readonly modelDir: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Jobs, images, the built site and the local secret live here. */
  readonly dataDir: string;
  /** QUOTA_PER_IP_PER_DAY, QUOTA_GLOBAL_PER_DAY, COLD_START_SECONDS, SECONDS_PER_IMAGE, ENGINE_TIMEOUT_SECONDS, ALLOWED_ORIGINS, EMBED_ORIGINS, LOG_LEVEL. */
  readonly env?: Environment;
  /** The stack's one clock. @default - the system clock */
  readonly now?: Clock;
}

export interface LocalStack {
  readonly url: string;
  readonly engineUrl: string;
  readonly modelDir: string;
  /** `EMBED_ORIGINS`, checked: the pages that may frame the site. */
  readonly embedOrigins: readonly string[];
  /** Resolves once the engine has loaded the model; rejects if it cannot. */
  readonly engineReady: Promise<void>;
  close(): Promise<void>;
}

/** The headers CloudFront adds to the site's files, for the pages that may embed it (`EMBED_ORIGINS`). */
function pageHeaders(embedOrigins: readonly string[]): Record<string, string> {
  const frameOptions = frameOptionsHeader(embedOrigins);
  return {
    'Content-Security-Policy': siteContentSecurityPolicy({ embedOrigins }),
    'Referrer-Policy': 'no-referrer',
    ...(frameOptions ? { 'X-Frame-Options': frameOptions } : {}),
    'Cache-Control': 'no-cache',
  };
}

function sendError(response: ServerResponse, error: GatewayError): void {
  sendProxyResult(response, errorResponse(error, 'local'));
}

/**
 * Runs the three tiers in one process: the built front, the gateway's own handler behind an
 * adapter that turns HTTP requests into API Gateway events, and the engine's HTTP server.
 */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const env = options.env ?? {};
  // Before anything starts: a bad list stops the server with the variable named.
  const embedOrigins = parseEmbedOrigins(env.EMBED_ORIGINS);
  const siteHeaders = pageHeaders(embedOrigins);
  const timeoutMs = engineTimeoutMs(env);
  const dataDir = resolve(options.dataDir);
  const siteDir = join(dataDir, 'site');
  mkdirSync(dataDir, { recursive: true });
  await buildSite(siteDir);

  const logLevel = env.LOG_LEVEL?.toLowerCase() ?? 'warn';
  const engine: RunningEngineServer = await startEngineServer({
    modelDir: options.modelDir,
    port: 0,
    safetyChecker: safetyCheckerFromEnv(env),
    threads: threadsFromEnv(env),
    // backend.decoder, as the deployed engine takes it.
    decoder: decoderFromEnv(env),
    tinyVaeDir: env.TINY_VAE_DIR || undefined,
    logger: createJsonLogger(logLevel as LogLevel),
  });

  const server = createServer();
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  try {
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(options.port, options.host ?? '127.0.0.1', () => {
        server.off('error', fail);
        done();
      });
    });
  } catch (error) {
    await engine.close();
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const host = !options.host || options.host === '0.0.0.0' ? '127.0.0.1' : options.host;
  const url = `http://${host}:${port}`;

  const config = readGatewayConfig({
    ...LOCAL_DEFAULTS,
    ...env,
    ALLOWED_ORIGINS: env.ALLOWED_ORIGINS ?? url,
  });
  const logger = new Logger({ serviceName: 'gateway', logLevel: logLevel.toUpperCase() as 'WARN' });
  // One clock for the whole local stack: tests move it through `options.now`.
  const now = options.now ?? systemClock;
  const secrets = loadOrCreateLocalSecrets(dataDir);
  const images = new FileImageStore({ dir: join(dataDir, 'images'), baseUrl: () => url, signingKey: secrets.idSigningKey, now });
  const backend = new LocalEngineBackend({
    // Generation on a CPU can take minutes; the queue, not the HTTP call, bounds the wait.
    client: new EngineHttpClient({ baseUrl: engine.url, timeoutMs }),
    images,
    logger,
    engineProgress: (requestId) => engine.progress(requestId),
    now,
  });
  const gateway = createGateway({
    config,
    backend,
    jobs: new FileJobStore(join(dataDir, 'jobs')),
    images,
    quota: new QuotaGuard(new MemoryCounterStore(now), {
      perIpPerDay: config.quotaPerIpPerDay,
      globalPerDay: config.quotaGlobalPerDay,
    }),
    secrets: async () => secrets,
    status: new StatusCache(() => backend.status(), { freshMs: 500, now }),
    logger,
    metrics: new GatewayMetrics({ enabled: false }),
    now,
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requested = new URL(request.url ?? '/', 'http://local');
    const path = requested.pathname;
    if (path.startsWith('/v1/') || path === '/v1') {
      let body: Buffer;
      try {
        body = await readBody(request);
      } catch (error) {
        if (!(error instanceof BodyTooLargeError)) throw error;
        response.setHeader('Connection', 'close');
        sendError(response, new GatewayError('body_too_large', 'request body is too large', { field: 'body' }));
        return;
      }
      sendProxyResult(response, await gateway(toProxyEvent(request, body)));
      return;
    }
    // Nothing below uses a body, but it must be read to its end before answering, or Node closes
    // the connection under a client that is about to reuse it.
    const unread = await readBody(request, MAX_ADAPTER_BODY_BYTES).catch(() => undefined);
    if (unread === undefined) response.setHeader('Connection', 'close');
    const method = request.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD') {
      sendError(response, new GatewayError('method_not_allowed', 'use GET', { headers: { Allow: 'GET, HEAD' } }));
      return;
    }
    if (path.startsWith(LOCAL_IMAGES_PATH)) {
      const key = path.slice(LOCAL_IMAGES_PATH.length);
      const served = images.authorizes(key, requested.searchParams) && (await sendFile(response, images.dir, key, { 'Cache-Control': 'private, max-age=900' }, method));
      if (!served) sendError(response, new GatewayError('not_found', 'no such image'));
      return;
    }
    if (path === '/config.json') {
      // Same origin: the page calls /v1/... on the server that served it.
      sendProxyResult(response, { statusCode: 200, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache' }, body: JSON.stringify({ apiBaseUrl: '', embedOrigins }) });
      return;
    }
    const served = await sendFile(response, siteDir, path === '/' ? '/index.html' : path, siteHeaders, method);
    if (!served) sendError(response, new GatewayError('not_found', 'no such page'));
  }

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    handle(request, response).catch((error: unknown) => {
      logger.error('local server error', { error: error as Error });
      if (!response.headersSent) sendError(response, new GatewayError('internal_error', 'internal error'));
      else response.destroy();
    });
  });

  // Requests Node cannot even parse still get the API's error shape (API Gateway would never pass them on).
  server.on('clientError', (_error: Error, socket) => {
    if (!socket.writable) {
      socket.destroy();
      return;
    }
    const body = JSON.stringify({ error: { code: 'invalid_request', message: 'malformed HTTP request', field: 'body' } });
    socket.end(
      `HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  });

  let closing: Promise<void> | undefined;
  return {
    url,
    engineUrl: engine.url,
    modelDir: options.modelDir,
    embedOrigins,
    engineReady: engine.ready,
    close: () =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((done) => server.close(() => done()));
        server.closeIdleConnections();
        await backend.close();
        server.closeAllConnections();
        await Promise.all([stopped, engine.close()]);
      })()),
  };
}
