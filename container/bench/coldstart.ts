/**
 * npm run bench:coldstart -- --model DIR [--tiny-vae DIR] [--streams N] — a Lambda cold start,
 * part by part, on this machine: the model folder is served over loopback by a minimal S3-style
 * server (ListObjectsV2, HEAD, ranged GET) that caps each connection at 80 MB/s, about what one S3
 * stream gives a Lambda function (1 GB in 16.5 s measured); a fresh process stages it with the
 * engine's own ranged staging, loads the engine (sessions and its warm-up run) and makes a first
 * and a second 4-step LCM-style 512×512 image. Then the Lambda estimate, every premise printed.
 * Make a full-size pipeline with tools/full-size-model/ (and its TAESD with build_taesd.py).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createReadStream, statSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { S3Client } from '@aws-sdk/client-s3';
import { LAMBDA_PREMISES, parallelFraction, scaledSeconds } from '../../lib/config/lambda-engine-estimate';
import { stageModel } from '../src/lambda/model-staging';
import { EngineService } from '../src/server/engine-service';

const STREAM_BYTES_PER_SECOND = 80e6;
/** Premises of the Lambda estimate, each printed with it: the same ones lambda mode's defaults use. */
const LAMBDA = { ...LAMBDA_PREMISES, memoryGb: 10, perGbSecondUsd: 0.0000166667 };
const REQUEST = { prompt: 'a photo of an astronaut riding a horse on mars', width: 512, height: 512, steps: 4, scheduler: 'lcm' as const, guidance_scale: 1, num_images: 1 };

function flag(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

/** Caps one response at `bytesPerSecond`, as one S3 stream is capped. */
function throttle(bytesPerSecond: number): Transform {
  const started = performance.now();
  let sent = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      sent += chunk.length;
      const due = (sent / bytesPerSecond) * 1000 - (performance.now() - started);
      setTimeout(() => done(null, chunk), Math.max(0, due));
    },
  });
}

async function listFiles(dir: string): Promise<Array<{ key: string; size: number; path: string }>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const path = join(entry.parentPath, entry.name);
      return { key: `model/${relative(dir, path)}`, size: statSync(path).size, path };
    });
}

/** Just enough of S3's REST API for `stageModel`, over the folder `dir`, in bucket `bench`. */
async function serveFolder(dir: string): Promise<{ server: Server; endpoint: string; bytes: number }> {
  const files = await listFiles(dir);
  const byKey = new Map(files.map((file) => [file.key, file]));
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://local');
    const key = decodeURIComponent(url.pathname.replace(/^\/bench\/?/, ''));
    if (request.method === 'GET' && url.searchParams.get('list-type') === '2') {
      const prefix = url.searchParams.get('prefix') ?? '';
      const contents = files
        .filter((file) => file.key.startsWith(prefix))
        .map((file) => `<Contents><Key>${file.key}</Key><Size>${file.size}</Size></Contents>`)
        .join('');
      response.writeHead(200, { 'Content-Type': 'application/xml' });
      response.end(`<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>bench</Name><Prefix>${prefix}</Prefix><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`);
      return;
    }
    const file = byKey.get(key);
    if (!file) {
      response.writeHead(404, { 'Content-Type': 'application/xml' });
      response.end('<Error><Code>NoSuchKey</Code></Error>');
      return;
    }
    if (request.method === 'HEAD') {
      response.writeHead(200, { 'Content-Length': file.size });
      response.end();
      return;
    }
    if (file.size === 0) {
      response.writeHead(200, { 'Content-Length': 0 });
      response.end();
      return;
    }
    const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? '');
    const start = range ? Number(range[1]) : 0;
    const end = range ? Math.min(Number(range[2]), file.size - 1) : file.size - 1;
    response.writeHead(range ? 206 : 200, { 'Content-Length': end - start + 1, ...(range ? { 'Content-Range': `bytes ${start}-${end}/${file.size}` } : {}) });
    createReadStream(file.path, { start, end, highWaterMark: 1024 * 1024 }).pipe(throttle(STREAM_BYTES_PER_SECOND)).pipe(response);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return { server, endpoint: `http://127.0.0.1:${port}`, bytes: files.reduce((sum, file) => sum + file.size, 0) };
}

const s3For = (endpoint: string) =>
  new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' }, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });

const cpuMs = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1000;
};

/** The fresh process: staging, loading, the first and second image. Prints one JSON line. */
async function child(endpoint: string, stagingDir: string, tinyVaeDir: string | undefined, streams: number, threads: number | undefined, warmUp: boolean): Promise<void> {
  const processStart = performance.now();
  const s3 = s3For(endpoint);
  const staged = await stageModel(s3, 's3://bench/model/', stagingDir, { concurrency: streams });
  const loadStart = performance.now();
  const loadCpu = cpuMs();
  const engine = await EngineService.load({ modelDir: stagingDir, executionProvider: 'cpu', maxQueuedRequests: 0, memory: 'bounded', decoder: tinyVaeDir ? 'tiny' : 'full', tinyVaeDir, threads, warmUp: false });
  // The warm-up step, timed apart from the sessions; the engine function runs it at load (handler.ts).
  const warmUpMs = warmUp ? await engine.warmUp() : 0;
  const loadMs = performance.now() - loadStart;
  const loadCpuMs = cpuMs() - loadCpu;
  const image = async () => {
    const [wall, cpu] = [performance.now(), cpuMs()];
    const result = await engine.invoke({ request: { ...REQUEST, seed: 1 }, signal: new AbortController().signal });
    return { ms: Math.round(performance.now() - wall), cpu_ms: Math.round(cpuMs() - cpu), timings: result.response.timings };
  };
  const first = await image();
  const firstImageAt = performance.now();
  const second = await image();
  await engine.close(0);
  process.stdout.write(
    `${JSON.stringify({
      threads: threads ?? availableParallelism(),
      streams,
      staged_bytes: staged.bytes,
      staging_ms: staged.ms,
      staging_mb_per_s: Math.round(staged.bytes / 1e6 / (staged.ms / 1000)),
      load_ms: Math.round(loadMs),
      load_cpu_ms: Math.round(loadCpuMs),
      warm_up: warmUp,
      load_parts: { ...engine.loadTimings, warmUpMs },
      first_image: first,
      second_image: second,
      process_start_to_first_image_ms: Math.round(firstImageAt - processStart),
      load_and_first_image_ms: Math.round(firstImageAt - loadStart),
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    })}\n`,
  );
}

/** Asynchronously: this process serves the model to the child meanwhile. */
async function runChild(args: string[]): Promise<Record<string, any>> {
  const child = promisify(execFile)(process.execPath, [process.argv[1], ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
  child.child.stderr?.pipe(process.stderr);
  const { stdout } = await child;
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

async function main(): Promise<void> {
  const role = flag('child');
  const tinyVae = flag('tiny-vae') ? resolve(flag('tiny-vae')!) : undefined;
  if (role) {
    await child(flag('endpoint')!, flag('staging')!, tinyVae, Number(flag('streams')), flag('threads') ? Number(flag('threads')) : undefined, !process.argv.includes('--no-warm-up'));
    return;
  }
  const model = flag('model');
  if (!model) {
    process.stderr.write('usage: npm run bench:coldstart -- --model DIR [--tiny-vae DIR] [--streams N]\n');
    process.exit(2);
  }
  const streams = Number(flag('streams') ?? 16);
  const { server, endpoint, bytes } = await serveFolder(resolve(model));
  const work = await mkdtemp(join(tmpdir(), 'coldstart-'));
  try {
    // One stream, on the first 400 MB of the largest file: the single-stream rate the ranges are compared with.
    const single = await runChild(['--child-single', '--endpoint', endpoint]);
    process.stdout.write(`${JSON.stringify({ case: 'one stream, capped', ...single })}\n`);
    const common = ['--endpoint', endpoint, ...(tinyVae ? ['--tiny-vae', tinyVae] : []), '--streams', String(streams)];
    const all = await runChild(['--child', '1', ...common, '--staging', join(work, 'a')]);
    process.stdout.write(`${JSON.stringify({ case: 'all threads', ...all })}\n`);
    const one = await runChild(['--child', '1', ...common, '--staging', join(work, 'a'), '--threads', '1']);
    process.stdout.write(`${JSON.stringify({ case: 'one thread (model already staged)', ...one })}\n`);
    // For comparison, the path the function does not take: no warm-up step, the first image pays its own first run.
    const cold = await runChild(['--child', '1', ...common, '--staging', join(work, 'a'), '--no-warm-up']);
    process.stdout.write(`${JSON.stringify({ case: 'all threads, no warm-up (model already staged)', ...cold })}\n`);

    // The estimate: each part scales by Amdahl's law to Lambda's vCPUs, with its own parallel
    // fraction from the 1-thread run (its CPU time) against the n-thread run (wall time). Sessions
    // are created one after another on the JS thread whatever the cores: taken as measured. The
    // warm-up step scales as an image does.
    const n = all.threads as number;
    const fraction = (oneCpuMs: number, nWallMs: number) => parallelFraction(oneCpuMs / 1000, nWallMs / 1000, n);
    const fractions = {
      first_image: fraction(one.first_image.cpu_ms, all.first_image.ms),
      warm_image: fraction(one.second_image.cpu_ms, all.second_image.ms),
    };
    const scale = (ms: number, parallel: number) => scaledSeconds({ seconds: ms / 1000, parallelFraction: parallel }, n, LAMBDA.vcpus);
    const stagingS = bytes / 1e6 / Math.min(LAMBDA.s3AggregateMBps, LAMBDA.s3StreamMBps * streams);
    const sessionsS = all.load_parts.pipelineMs / 1000;
    const warmUpS = scale(all.load_parts.warmUpMs, fractions.warm_image);
    const firstS = scale(all.first_image.ms, fractions.first_image);
    const warmS = scale(all.second_image.ms, fractions.warm_image);
    const withoutWarmUpS = cold.load_parts.pipelineMs / 1000 + scale(cold.first_image.ms, fractions.warm_image);
    const round1 = (value: number) => Math.round(value * 10) / 10;
    const round3 = (value: number) => Math.round(value * 1000) / 1000;
    process.stdout.write(
      `${JSON.stringify({
        lambda_estimate: {
          premises: {
            s3_mb_per_s_per_stream: Math.round(LAMBDA.s3StreamMBps),
            s3_mb_per_s_in_all: LAMBDA.s3AggregateMBps,
            streams,
            model_gb: Math.round(bytes / 1e7) / 100,
            vcpus: LAMBDA.vcpus,
            parallel_fraction_from_1_thread_cpu_vs_n_threads_wall: {
              first_image: round3(fractions.first_image),
              warm_image: round3(fractions.warm_image),
            },
            threads_here: n,
          },
          staging_s: round1(stagingS),
          sessions_s: round1(sessionsS),
          warm_up_s: round1(warmUpS),
          first_image_s: round1(firstS),
          warm_image_s: round1(warmS),
          first_image_after_idle_s: round1(stagingS + sessionsS + warmUpS + firstS),
          first_image_after_idle_without_warm_up_step_s: round1(stagingS + withoutWarmUpS),
          visitor_warm_up_s: round1(stagingS + sessionsS + warmUpS),
          after_warm_up_on_visit_s: round1(warmS),
          staging_speedup_over_one_stream_here: round1(all.staging_mb_per_s / single.single_stream_mb_per_s),
          usd_per_warm_image: Math.round(warmS * LAMBDA.memoryGb * LAMBDA.perGbSecondUsd * 1e6) / 1e6,
        },
        // Process start to first image with the model on local disk, over the warm image: as the
        // function does it (warm-up step at load), and without the step.
        ratio_start_to_first_image_over_warm_image_local_disk: Math.round((all.load_and_first_image_ms / all.second_image.ms) * 100) / 100,
        ratio_without_warm_up_step: Math.round(((cold.load_ms + cold.first_image.ms) / all.second_image.ms) * 100) / 100,
      })}\n`,
    );
  } finally {
    server.close();
    await rm(work, { recursive: true, force: true });
  }
}

if (process.argv.includes('--child-single')) {
  // The single-stream rate: one ranged GET of up to 400 MB through the same capped server.
  (async () => {
    const endpoint = flag('endpoint')!;
    const started = performance.now();
    const response = await fetch(`${endpoint}/bench/model/unet/model.onnx_data`, { headers: { Range: 'bytes=0-399999999' } });
    let bytes = 0;
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.length;
    const mbps = bytes / 1e6 / ((performance.now() - started) / 1000);
    process.stderr.write(`single stream: ${Math.round(mbps)} MB/s over ${Math.round(bytes / 1e6)} MB\n`);
    process.stdout.write(`${JSON.stringify({ single_stream_mb_per_s: Math.round(mbps) })}\n`);
  })().catch((error: Error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
} else {
  main().catch((error: Error) => {
    process.stderr.write(`${error.stack ?? error.message}\n`);
    process.exit(1);
  });
}
