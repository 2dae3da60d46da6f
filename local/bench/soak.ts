/**
 * `npm run bench:soak`: 1,000 jobs through `npm start` (the real local stack: gateway, engine with
 * the bundled demo model, file stores) from 20 concurrent clients on loopback. About 10% of the
 * requests are hostile (malformed, oversized, wrong types), about 5% of the jobs are canceled at
 * a random moment, and every job is polled as the page polls it (1 s, then ×1.5 up to 5 s).
 *
 * Prints one JSON line: jobs lost (accepted, then unknown or never settled: must be 0), jobs stuck
 * (not settled when the run ends), 5xx by route (must be 0), p50/p99 latency of POST /v1/images
 * and GET /v1/images/{id}, and the stack's peak RSS (all its processes, sampled every 250 ms).
 * Exits non-zero when a job is lost or a 5xx was answered. SOAK_JOBS and SOAK_CLIENTS change the size.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { FuzzRandom, hostileBody, nearlyValidRequest } from '../../test/support/hostile-requests';
import { pollDelayMs } from '../../site/src/backoff';

const ROOT = resolve(__dirname, '..', '..');
const JOBS = Number(process.env.SOAK_JOBS ?? 1000);
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 20);
const HOSTILE_SHARE = 0.1;
const CANCEL_SHARE = 0.05;
/** A job not settled this long after it was accepted counts as stuck; the run ends by itself. */
const JOB_DEADLINE_MS = 120_000;
const SETTLED = new Set(['succeeded', 'failed', 'canceled', 'expired']);

type Route = 'POST /v1/images' | 'GET /v1/images/{id}' | 'DELETE /v1/images/{id}';
const latencies: Record<Route, number[]> = { 'POST /v1/images': [], 'GET /v1/images/{id}': [], 'DELETE /v1/images/{id}': [] };
const serverErrors: Record<string, number> = {};
const outcomes: Record<string, number> = {};
let lost = 0;
let stuck = 0;
let hostileSent = 0;
let hostileAccepted = 0;
let cancelsSent = 0;
const lostDetails: string[] = [];

async function call(route: Route, url: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const started = performance.now();
  const response = await fetch(url, init);
  const text = await response.text();
  latencies[route].push(performance.now() - started);
  if (response.status >= 500) serverErrors[`${route} ${response.status}`] = (serverErrors[`${route} ${response.status}`] ?? 0) + 1;
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, body };
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Follows one accepted job as the page does, canceling it at a random moment when asked to. */
async function follow(api: string, id: string, cancelAfterMs: number | undefined): Promise<void> {
  const accepted = Date.now();
  let canceled = cancelAfterMs === undefined;
  for (let attempt = 0; Date.now() - accepted < JOB_DEADLINE_MS; attempt++) {
    await sleep(Math.min(pollDelayMs(attempt), canceled ? Infinity : Math.max(0, accepted + cancelAfterMs! - Date.now())));
    if (!canceled && Date.now() >= accepted + cancelAfterMs!) {
      canceled = true;
      cancelsSent += 1;
      const answer = await call('DELETE /v1/images/{id}', `${api}/v1/images/${id}`, { method: 'DELETE' });
      // 409: it had finished first; both are fine.
      if (answer.status === 404) {
        lost += 1;
        lostDetails.push(`${id}: cancel answered 404`);
        return;
      }
    }
    const { status, body } = await call('GET /v1/images/{id}', `${api}/v1/images/${id}`);
    if (status === 404) {
      lost += 1;
      lostDetails.push(`${id}: unknown after it was accepted`);
      return;
    }
    if (status === 200 && SETTLED.has(body.status)) {
      const key = body.status === 'failed' ? `failed:${body.error?.code}` : body.status;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      if (body.status === 'succeeded' && (await fetch(body.images[0].url)).status !== 200) {
        lost += 1;
        lostDetails.push(`${id}: succeeded but its image is not served`);
      }
      return;
    }
  }
  stuck += 1;
}

async function client(api: string, random: FuzzRandom, next: () => number | undefined): Promise<void> {
  for (let n = next(); n !== undefined; n = next()) {
    let id: string | undefined;
    if (random.float() < HOSTILE_SHARE) {
      hostileSent += 1;
      const hostile = random.float() < 0.5 ? hostileBody(random) : { body: JSON.stringify(nearlyValidRequest(random)), contentType: 'application/json' };
      const { status, body } = await call('POST /v1/images', `${api}/v1/images`, {
        method: 'POST',
        headers: hostile.contentType ? { 'Content-Type': hostile.contentType } : {},
        body: typeof hostile.body === 'string' ? hostile.body : new Uint8Array(hostile.body),
      });
      // Some "nearly valid" requests are valid: they are jobs like any other.
      if (status === 202) {
        hostileAccepted += 1;
        id = body.id;
      }
    } else {
      const request = { prompt: `soak job ${n}`, width: 64, height: 64, steps: 2, seed: n };
      const { status, body } = await call('POST /v1/images', `${api}/v1/images`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(request),
      });
      if (status !== 202) {
        outcomes[`refused:${status}:${body?.error?.code}`] = (outcomes[`refused:${status}:${body?.error?.code}`] ?? 0) + 1;
        if (status === 429 || status === 503) await sleep(1000);
        continue;
      }
      id = body.id;
    }
    if (id) await follow(api, id, random.float() < CANCEL_SHARE ? random.int(3000) : undefined);
  }
}

/** Resident memory of every process in the stack's process group, in bytes. */
async function groupRss(pgid: number): Promise<number> {
  let total = 0;
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name: state ppid pgrp ...; rss (pages) is field 24.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) === pgid) total += Number(fields[21]) * 4096;
    } catch {
      // The process ended meanwhile.
    }
  }
  return total;
}

async function startStack(dataDir: string): Promise<{ child: ChildProcess; url: string; output: () => string }> {
  const child = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOCAL_DATA_DIR: dataDir, QUOTA_PER_IP_PER_DAY: '100000', QUOTA_GLOBAL_PER_DAY: '100000', LOG_LEVEL: 'error' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`npm start exited:\n${output}`);
    const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1];
    if (url && /model ready/i.test(output)) return { child, url, output: () => output };
    await sleep(250);
  }
  process.kill(-child.pid!, 'SIGKILL');
  throw new Error(`npm start did not get ready:\n${output}`);
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] * 10) / 10;
}

async function main(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'soak-'));
  const stack = await startStack(dataDir);
  const pgid = stack.child.pid!;
  let peakRss = 0;
  const sampler = setInterval(() => void groupRss(pgid).then((rss) => (peakRss = Math.max(peakRss, rss))), 250);
  const started = Date.now();
  const cpuBefore = process.cpuUsage();
  let issued = 0;
  const next = () => (issued < JOBS ? issued++ : undefined);
  try {
    await Promise.all(Array.from({ length: CLIENTS }, (_, index) => client(stack.url, new FuzzRandom(1000 + index), next)));
  } finally {
    clearInterval(sampler);
    process.kill(-pgid, 'SIGTERM');
    await new Promise((done) => stack.child.once('exit', done));
    await rm(dataDir, { recursive: true, force: true });
  }
  const cpu = process.cpuUsage(cpuBefore);
  const summary = {
    jobs: JOBS,
    clients: CLIENTS,
    hostile_requests: hostileSent,
    hostile_accepted_as_valid: hostileAccepted,
    cancels_sent: cancelsSent,
    outcomes,
    jobs_lost: lost,
    jobs_stuck: stuck,
    server_errors_by_route: serverErrors,
    latency_ms: Object.fromEntries(
      (['POST /v1/images', 'GET /v1/images/{id}'] as const).map((route) => [route, { n: latencies[route].length, p50: percentile(latencies[route], 50), p99: percentile(latencies[route], 99) }]),
    ),
    peak_rss_mb: Math.round(peakRss / 2 ** 20),
    wall_s: Math.round((Date.now() - started) / 100) / 10,
    client_cpu_s: Math.round((cpu.user + cpu.system) / 1e5) / 10,
    ...(lostDetails.length ? { lost_details: lostDetails.slice(0, 10) } : {}),
  };
  console.log(JSON.stringify(summary));
  if (lost > 0 || stuck > 0 || Object.keys(serverErrors).length > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
