/**
 * The safety checker through `npm start` on the oracle's tiny-sd-safety, whose random-weight checker
 * flags every picture tiny-sd makes of this prompt: the job succeeds with the image withheld and
 * nothing stored; with SAFETY_CHECKER=off the image comes back, and the status says there is no filter.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { closeIdleSockets, httpCall, PNG_SIGNATURE } from '../gateway/support/http';
import { openApiResponseValidator } from '../gateway/support/openapi-validator';
import { TINY_SD_SAFETY } from '../support/oracle';

const REPOSITORY = resolve(__dirname, '..', '..');
const REQUEST = { prompt: 'a cat', width: 64, height: 64, steps: 2, seed: 7 };

interface Running {
  readonly child: ChildProcess;
  readonly url: string;
  readonly dataDir: string;
  output: string;
}

async function npmStart(env: Record<string, string>): Promise<Running> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sd-safety-e2e-'));
  const child = spawn('npm', ['start'], {
    cwd: REPOSITORY,
    env: { ...process.env, PORT: '0', LOCAL_DATA_DIR: dataDir, MODEL_DIR: TINY_SD_SAFETY, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const running = { child, dataDir, url: '', output: '' };
  child.stderr!.on('data', (chunk: Buffer) => (running.output += chunk.toString()));
  running.url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed:\n${running.output}`)), 60_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      running.output += chunk.toString();
      const match = /running at (http:\/\/127\.0\.0\.1:\d+)/.exec(running.output);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
    child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${running.output}`)));
  });
  return running;
}

function stop(running: Running | undefined): void {
  if (running === undefined) return;
  if (running.child.exitCode === null && running.child.signalCode === null) process.kill(-running.child.pid!, 'SIGKILL');
  rmSync(running.dataDir, { recursive: true, force: true });
}

async function warmStatus(url: string) {
  let status = (await httpCall(`${url}/v1/status`)).json();
  for (let i = 0; i < 150 && status.state !== 'warm'; i++) {
    await new Promise((done) => setTimeout(done, 200));
    status = (await httpCall(`${url}/v1/status`)).json();
  }
  return status;
}

async function generate(url: string) {
  const validate = openApiResponseValidator((await httpCall(`${url}/v1/openapi.json`)).json());
  const accepted = await httpCall(`${url}/v1/images`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(REQUEST) });
  expect(accepted.status).toBe(202);
  let job = accepted.json();
  for (let i = 0; i < 300 && !['succeeded', 'failed'].includes(job.status); i++) {
    await new Promise((done) => setTimeout(done, 100));
    const polled = await httpCall(`${url}/v1/images/${job.id}`);
    expect(validate('GET', '/v1/images/{id}', 200, polled.json())).toEqual([]);
    job = polled.json();
  }
  return job;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('npm start with the safety checker (tiny-sd-safety)', () => {
  let running: Running | undefined;
  afterEach(() => {
    closeIdleSockets();
    stop(running);
    running = undefined;
  });

  it('withholds a flagged image: the job succeeds, nothing is stored, the status names the filter', async () => {
    running = await npmStart({});
    expect((await warmStatus(running.url)).model).toMatchObject({ content_filter: 'safety_checker' });
    const job = await generate(running.url);
    expect(job).toMatchObject({ status: 'succeeded', images: [{ seed: 7, withheld: 'safety' }] });
    expect(filesUnder(running.dataDir).filter((file) => /\.(png|jpe?g|webp)$/.test(file))).toEqual([]);
    expect(running.output).not.toMatch(/no content filter/);
  }, 120_000);

  it('returns the image with SAFETY_CHECKER=off, warns, and says there is no filter', async () => {
    running = await npmStart({ SAFETY_CHECKER: 'off' });
    expect((await warmStatus(running.url)).model).toMatchObject({ content_filter: 'none' });
    const job = await generate(running.url);
    expect(job).toMatchObject({ status: 'succeeded', images: [{ seed: 7, width: 64, height: 64, format: 'png', url: expect.any(String) }] });
    const png = await httpCall(job.images[0].url);
    expect(png.body.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    expect(running.output).toMatch(/no content filter: the safety checker is turned off/);
  }, 120_000);
});
