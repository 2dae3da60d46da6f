import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { closeIdleSockets, httpCall, PNG_SIGNATURE, pngSize } from '../gateway/support/http';
import { openApiResponseValidator } from '../gateway/support/openapi-validator';

const REPOSITORY = resolve(__dirname, '..', '..');

/**
 * The whole system through `npm start`, as a person would run it: front, gateway handler and
 * engine with the bundled tiny model, on a free port, with low quotas so that they can be hit.
 */
describe('npm start (local mode), end to end', () => {
  let child: ChildProcess;
  let url: string;
  let output = '';
  const dataDir = mkdtempSync(join(tmpdir(), 'sd-local-e2e-'));

  beforeAll(async () => {
    child = spawn('npm', ['start'], {
      cwd: REPOSITORY,
      env: {
        ...process.env,
        PORT: '0',
        LOCAL_DATA_DIR: dataDir,
        // Per client 4, whole site 3: lets one client hit the spend guard first, then its own limit.
        QUOTA_PER_IP_PER_DAY: '4',
        QUOTA_GLOBAL_PER_DAY: '3',
        // Every request's log line, the gateway's and the engine's, so the test can read them.
        LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so the test can signal npm, tsx and the launcher together, as a
      // terminal does on Ctrl-C (npm alone does not pass SIGTERM on to its script).
      detached: true,
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    url = await new Promise<string>((resolveUrl, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL printed:\n${output}`)), 60_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        const match = /running at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        // The model line is written separately, right after the URL.
        if (match && output.includes('Model: ')) {
          clearTimeout(timer);
          resolveUrl(match[1]);
        }
      });
      child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output}`)));
    });
  }, 90_000);

  afterAll(() => {
    closeIdleSockets();
    if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints the URL and the model it loads: the bundled demo model', () => {
    expect(output).toMatch(/running at http:\/\/127\.0\.0\.1:\d+/);
    expect(output).toContain(join('models', 'shapes-demo'));
  });

  it('serves the front, its runtime config, and the API on one origin', async () => {
    const page = await httpCall(`${url}/`);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect((await httpCall(`${url}/config.json`)).json()).toEqual({ apiBaseUrl: '', embedOrigins: [] });
    let status = (await httpCall(`${url}/v1/status`)).json();
    for (let i = 0; i < 100 && status.state !== 'warm'; i++) {
      await new Promise((done) => setTimeout(done, 200));
      status = (await httpCall(`${url}/v1/status`)).json();
    }
    expect(status).toMatchObject({ state: 'warm', instances: { current: 1, desired: 1 }, queue_depth: 0 });
  });

  it('submits, polls and fetches a PNG of the requested size; hits the quotas; refuses bad ids', async () => {
    const validate = openApiResponseValidator((await httpCall(`${url}/v1/openapi.json`)).json());
    const submit = (request: object) =>
      httpCall(`${url}/v1/images`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(request) });

    const accepted = await submit({ prompt: 'a tiny red square', width: 64, height: 64, steps: 3, seed: 42 });
    expect(accepted.status).toBe(202);
    expect(validate('POST', '/v1/images', 202, accepted.json())).toEqual([]);
    const id: string = accepted.json().id;

    let job = accepted.json();
    const seen = new Set<string>([job.status]);
    for (let i = 0; i < 300 && !['succeeded', 'failed'].includes(job.status); i++) {
      await new Promise((done) => setTimeout(done, 100));
      const polled = await httpCall(`${url}/v1/images/${id}`);
      expect(polled.status).toBe(200);
      expect(validate('GET', '/v1/images/{id}', 200, polled.json())).toEqual([]);
      job = polled.json();
      seen.add(job.status);
    }
    expect(job).toMatchObject({ id, status: 'succeeded', parameters: { prompt: 'a tiny red square', seed: 42, width: 64, height: 64 } });
    expect([...seen].every((status) => ['queued', 'running', 'succeeded'].includes(status))).toBe(true);
    expect(job.images).toEqual([
      { url: expect.stringMatching(new RegExp(`^${url}/local-images/[A-Za-z0-9_-]{22}/0\\.png\\?expires=\\d+&signature=[A-Za-z0-9_-]{22}$`)), width: 64, height: 64, seed: 42, format: 'png' },
    ]);

    const png = await httpCall(job.images[0].url);
    expect(png.status).toBe(200);
    expect(png.headers['content-type']).toBe('image/png');
    expect(png.body.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(pngSize(png.body)).toEqual({ width: 64, height: 64 });

    // One image used; two more fill the site's budget of 3.
    expect((await submit({ prompt: 'two more', width: 64, height: 64, steps: 2, num_images: 2 })).status).toBe(202);
    const guard = await submit({ prompt: 'one too many for the site', width: 64, height: 64, steps: 2 });
    expect(guard.status).toBe(503);
    expect(guard.json().error).toMatchObject({ code: 'spend_guard', message: expect.stringMatching(/daily image budget .* try again after 00:00 UTC/) });
    expect(Number(guard.headers['retry-after'])).toBeGreaterThan(0);
    expect(validate('POST', '/v1/images', 503, guard.json())).toEqual([]);
    // The refused request was not counted against the client: 3 used of 4, so 2 more passes its limit.
    const quota = await submit({ prompt: 'over my own limit', width: 64, height: 64, num_images: 2 });
    expect(quota.status).toBe(429);
    expect(quota.json().error).toMatchObject({ code: 'quota_exceeded', retry_after_seconds: Number(quota.headers['retry-after']) });
    expect(validate('POST', '/v1/images', 429, quota.json())).toEqual([]);

    const tampered = id.slice(0, -1) + (id.endsWith('A') ? 'B' : 'A');
    for (const bad of [tampered, 'not-an-id', '..%2F..%2Fgateway-secret.json']) {
      const result = await httpCall(`${url}/v1/images/${bad}`);
      expect(result.status).toBe(404);
      expect(result.json().error.code).toBe('not_found');
    }
    expect((await httpCall(`${url}/local-images/..%2Fgateway-secret.json`)).status).toBe(404);
    // The image's path alone (the job's reference, which the logs print) opens nothing.
    const signed = new URL(job.images[0].url);
    expect((await httpCall(`${url}${signed.pathname}`)).status).toBe(404);
    const signature = signed.searchParams.get('signature')!;
    signed.searchParams.set('signature', (signature.startsWith('A') ? 'B' : 'A') + signature.slice(1));
    expect((await httpCall(signed.toString())).status).toBe(404);
    // The gateway's and the engine's logs name the job by its reference, never by the id.
    expect(output).toContain('"job_ref"');
    expect(output).not.toContain(id);
  }, 120_000);

  it('stops cleanly on SIGTERM: says so, closes the port, leaves no process behind', async () => {
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
    let alive = true;
    for (let i = 0; i < 50 && alive; i++) {
      try {
        process.kill(-child.pid!, 0);
        await new Promise((done) => setTimeout(done, 100));
      } catch {
        alive = false;
      }
    }
    expect(alive).toBe(false);
    expect(output).toContain('SIGTERM: stopping');
    expect(output).not.toMatch(/stop failed/);
    await expect(httpCall(`${url}/v1/status`)).rejects.toThrow(/ECONNREFUSED/);
  }, 30_000);
});
