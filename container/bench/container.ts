/**
 * npm run bench:container — starts the server the way the image does (esbuild bundle, plain node),
 * measures process start → first `/ping` 200, then the latency of sequential default requests on
 * the tiny model. Prints one JSON line.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';

const ROOT = join(__dirname, '..', '..');
const MODEL_DIR = process.env.MODEL_DIR ?? join(ROOT, 'test', 'fixtures', 'oracle', 'models', 'tiny-sd');
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 30);
const REQUEST = { prompt: 'a photo of an astronaut riding a horse on mars', seed: 1 };

async function main(): Promise<void> {
  const outDir = mkdtempSync(join(tmpdir(), 'bench-container-'));
  const bundle = join(outDir, 'server.js');
  await build({
    entryPoints: [join(ROOT, 'container', 'src', 'server', 'main.ts')],
    bundle: true,
    platform: 'node',
    target: 'node20',
    external: ['onnxruntime-node', 'sharp'],
    outfile: bundle,
    logLevel: 'silent',
  });
  const port = 18000 + Math.floor(Math.random() * 2000);
  const url = `http://127.0.0.1:${port}`;
  const started = performance.now();
  const child = spawn(process.execPath, [bundle], {
    cwd: ROOT, // resolves the external native packages from the repository's node_modules
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', MODEL_DIR, EXECUTION_PROVIDER: process.env.EXECUTION_PROVIDER ?? 'cpu', NODE_PATH: join(ROOT, 'node_modules') },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    const readyMs = await waitForPing(url, started);
    const latencies: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const sent = performance.now();
      const response = await fetch(`${url}/invocations`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(REQUEST) });
      if (response.status !== 200) throw new Error(`request ${i} answered ${response.status}: ${await response.text()}`);
      await response.arrayBuffer();
      latencies.push(performance.now() - sent);
    }
    latencies.sort((a, b) => a - b);
    const quantile = (q: number) => round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]);
    process.stdout.write(
      `${JSON.stringify({
        bench: 'container',
        model: MODEL_DIR,
        ready_ms: round(readyMs),
        requests: REQUESTS,
        request: { ...REQUEST, steps: 'default', size: 'model native' },
        latency_ms: { min: round(latencies[0]), p50: quantile(0.5), p90: quantile(0.9), p99: quantile(0.99), max: round(latencies[latencies.length - 1]), mean: round(latencies.reduce((a, b) => a + b, 0) / latencies.length) },
      })}\n`,
    );
  } finally {
    child.kill('SIGTERM');
    rmSync(outDir, { recursive: true, force: true });
  }
}

async function waitForPing(url: string, started: number): Promise<number> {
  for (;;) {
    try {
      const response = await fetch(`${url}/ping`);
      if (response.status === 200) return performance.now() - started;
    } catch {
      // not listening yet
    }
    if (performance.now() - started > 60_000) throw new Error('server not ready within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}

main().catch((error: Error) => {
  process.stderr.write(`bench:container failed: ${error.message}\n`);
  process.exit(1);
});
