/**
 * `npm run bench:gateway`: the handler's own latency, with a backend and stores that answer at
 * once (so only gateway work is timed: routing, validation, quota logic, id signing, JSON, logging
 * and EMF), and the size of the Lambda bundle built exactly as the infrastructure builds it.
 * Prints one JSON line.
 */
import { performance } from 'node:perf_hooks';
import { Logger } from '@aws-lambda-powertools/logger';
import { build } from 'esbuild';
import { resolve } from 'node:path';
import { gatewayEsbuildOptions } from '../bundling';
import type { BackendCapacity, CancelOutcome, GenerationBackend } from '../src/backends/backend';
import { readGatewayConfig } from '../src/config';
import { createGateway } from '../src/gateway';
import type { ImageStore } from '../src/images/image-store';
import type { JobRecord } from '../src/jobs/job';
import { MemoryJobStore } from '../src/jobs/job-store';
import { GatewayMetrics } from '../src/metrics';
import { MemoryCounterStore } from '../src/quota/counter-store';
import { QuotaGuard } from '../src/quota/quota-guard';
import { StatusCache } from '../src/status/status-cache';
import { apiEvent, postImages } from '../../test/gateway/support/events';
import { systemClock } from '../src/clock';

const ITERATIONS = 4000;
const WARMUP = 500;

/** Benchmark doubles: what SageMaker, S3 and DynamoDB would do, with no time spent doing it. */
class InstantBackend implements GenerationBackend {
  async submit(job: JobRecord): Promise<JobRecord> {
    return { ...job, backend_ref: { output_location: `s3://bench/outputs/${job.ref}.out` } };
  }
  async refresh(job: JobRecord): Promise<JobRecord> {
    return job;
  }
  async cancel(): Promise<CancelOutcome> {
    return 'spent';
  }
  async status(): Promise<BackendCapacity> {
    return { state: 'warm', instances: { current: 1, desired: 1 }, queueDepth: 3 };
  }
}
const instantImages: ImageStore = {
  put: async () => undefined,
  url: async (key) => `https://bench.s3.amazonaws.com/outputs/${key}?X-Amz-Expires=900`,
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
const round = (ms: number) => Math.round(ms * 1000) / 1000;

async function measureHandler() {
  const config = readGatewayConfig({
    BACKEND_MODE: 'async',
    ALLOWED_ORIGINS: 'https://site.example.com',
    QUOTA_PER_IP_PER_DAY: String(ITERATIONS * 10),
    QUOTA_GLOBAL_PER_DAY: String(ITERATIONS * 100),
  });
  const backend = new InstantBackend();
  const gateway = createGateway({
    config,
    backend,
    jobs: new MemoryJobStore(),
    images: instantImages,
    quota: new QuotaGuard(new MemoryCounterStore(systemClock), { perIpPerDay: config.quotaPerIpPerDay, globalPerDay: config.quotaGlobalPerDay }),
    secrets: async () => ({ idSigningKey: 'bench-signing-key-0123456789abcdef0123' }),
    status: new StatusCache(() => backend.status(), { now: systemClock }),
    logger: new Logger({ serviceName: 'gateway', logLevel: 'INFO' }),
    metrics: new GatewayMetrics(),
    now: systemClock,
  });
  const request = { prompt: 'a watercolor fox in a snowy forest', steps: 25, width: 512, height: 512, num_images: 1 };
  // Logs and EMF are part of the handler's work; their bytes go nowhere so the terminal does not time them.
  const write = process.stdout.write;
  const writeError = process.stderr.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  const samples: Record<string, number[]> = { create: [], poll: [], status: [], invalid: [] };
  try {
    const job = JSON.parse((await gateway(postImages(request))).body) as { id: string };
    const routes = {
      create: () => postImages(request, { Origin: 'https://site.example.com' }),
      poll: () => apiEvent({ method: 'GET', path: `/v1/images/${job.id}` }),
      status: () => apiEvent({ method: 'GET', path: '/v1/status' }),
      invalid: () => postImages({ prompt: 'x', steps: 500 }),
    };
    for (let i = 0; i < WARMUP + ITERATIONS; i++) {
      for (const [name, event] of Object.entries(routes)) {
        const input = event();
        const started = performance.now();
        await gateway(input);
        if (i >= WARMUP) samples[name].push(performance.now() - started);
      }
    }
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeError;
  }
  const all = Object.values(samples).flat().sort((a, b) => a - b);
  const byRoute = Object.fromEntries(
    Object.entries(samples).map(([name, values]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return [name, { p50_ms: round(percentile(sorted, 50)), p99_ms: round(percentile(sorted, 99)) }];
    }),
  );
  return { requests: all.length, p50: round(percentile(all, 50)), p99: round(percentile(all, 99)), byRoute };
}

/** Bundle size, and the packages that weigh most in it (to see what a size regression came from). */
async function bundleSize(): Promise<{ bytes: number; largest: Record<string, number> }> {
  const result = await build({ ...gatewayEsbuildOptions(resolve(__dirname, '..', '..')), metafile: true });
  const byPackage = new Map<string, number>();
  for (const output of Object.values(result.metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const name = match ? match[1] : 'lambda (ours)';
      byPackage.set(name, (byPackage.get(name) ?? 0) + bytesInOutput);
    }
  }
  const largest = Object.fromEntries([...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 4));
  return { bytes: result.outputFiles.reduce((total, file) => total + file.contents.length, 0), largest };
}

async function main(): Promise<void> {
  const handler = await measureHandler();
  const bundle = await bundleSize();
  process.stdout.write(
    `${JSON.stringify({
      bench: 'gateway',
      requests: handler.requests,
      handler_p50_ms: handler.p50,
      handler_p99_ms: handler.p99,
      per_route: handler.byRoute,
      target_p99_ms: 20,
      bundle_bytes: bundle.bytes,
      bundle_target_bytes: 1024 * 1024,
      bundle_largest_packages: bundle.largest,
      aws_sdk: 'bundled',
      node: process.version,
    })}\n`,
  );
}

main().catch((error: Error) => {
  process.stderr.write(`bench:gateway failed: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
