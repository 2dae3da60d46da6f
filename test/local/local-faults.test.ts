import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { EngineHttpClient } from '../../lambda/src/backends/engine-http-client';
import { systemClock } from '../../lambda/src/clock';
import { FileImageStore } from '../../lambda/src/images/file-image-store';
import { ImageStoreError } from '../../lambda/src/images/image-store';
import type { JobRecord } from '../../lambda/src/jobs/job';
import { LocalEngineBackend } from '../../local/local-engine-backend';
import { engineResponse } from '../gateway/support/engine-output';

/**
 * Local mode's faults (issue 19): an engine that stops dead in the middle of a job, one slower
 * than the timeout, one that is gone, and an image folder that is full or unwritable. Each ends
 * the job `failed` with a message that says what happened, within a bound, and no half-written
 * image is left where a URL would serve it. Quota policy: a job that reached the engine keeps its
 * images counted (only a cancel before it started gives them back), as in AWS.
 */
const job = (id: string): JobRecord => ({ id, ref: `ref-${id}`, status: 'queued', created_at: new Date().toISOString(), parameters: { prompt: 'p' } });
const dir = mkdtempSync(join(tmpdir(), 'sd-local-faults-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const store = (folder = 'images') => new FileImageStore({ dir: join(dir, folder), baseUrl: () => 'http://local.test', signingKey: 'k', now: systemClock });

function backendFor(url: string, options: { timeoutMs?: number; images?: FileImageStore } = {}) {
  return new LocalEngineBackend({
    client: new EngineHttpClient({ baseUrl: url, ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}) }),
    images: options.images ?? store(),
    logger: new Logger({ logLevel: 'SILENT' }),
    refusedGraceMs: 500,
    now: systemClock,
  });
}

async function settle(local: LocalEngineBackend, record: JobRecord, withinMs: number): Promise<JobRecord> {
  const until = Date.now() + withinMs;
  while (Date.now() < until) {
    const current = await local.refresh(record);
    if (current.status === 'succeeded' || current.status === 'failed') return current;
    await new Promise((done) => setTimeout(done, 20));
  }
  throw new Error(`job ${record.id} did not finish within ${withinMs} ms`);
}

/** An engine in its own process that accepts a job, says so, and works on it forever. */
const WORKING_ENGINE = `
require('node:http').createServer((request, response) => {
  if (request.url === '/ping') return response.writeHead(200).end('{}');
  request.resume();
  request.on('end', () => console.log('working'));
}).listen(0, '127.0.0.1', function () { console.log('listening ' + this.address().port); });
`;

function startWorkingEngine(): Promise<{ child: ChildProcess; url: string; working: Promise<void> }> {
  const child = spawn(process.execPath, ['-e', WORKING_ENGINE], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let output = '';
    let signalWorking: () => void = () => undefined;
    const working = new Promise<void>((done) => (signalWorking = done));
    child.once('error', reject);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const port = /listening (\d+)/.exec(output)?.[1];
      if (port && !output.includes('resolved')) {
        output += 'resolved';
        resolve({ child, url: `http://127.0.0.1:${port}`, working });
      }
      if (output.includes('working')) signalWorking();
    });
  });
}

describe('local mode when the engine fails', () => {
  it('fails the job within a second when the engine process is killed (SIGKILL) in the middle of it', async () => {
    const engine = await startWorkingEngine();
    const local = backendFor(engine.url);
    const submitted = await local.submit(job('killed'));
    await engine.working;
    expect((await local.refresh(submitted)).status).toBe('running');
    const killedAt = Date.now();
    engine.child.kill('SIGKILL');
    const failed = await settle(local, submitted, 1000);
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'interrupted', message: 'the image generator stopped while making this image; please generate it again' } });
    expect(Date.now() - killedAt).toBeLessThan(1000);

    // The next job finds nobody listening: it fails after the grace period instead of waiting hours.
    const next = await local.submit(job('after-kill'));
    expect(await settle(local, next, 3000)).toMatchObject({
      status: 'failed',
      error: { message: 'the image generator is not running; restart npm start and generate the image again' },
    });
    await local.close();
  });

  describe('with an engine in this process', () => {
    let server: Server;
    let url: string;
    let answer: () => Promise<{ delayMs: number; body: string }>;
    beforeAll(async () => {
      server = createServer((request, response) => {
        if (request.url === '/ping') return void response.writeHead(200).end('{}');
        request.resume();
        request.on('end', async () => {
          const { delayMs, body } = await answer();
          const timer = setTimeout(() => response.writeHead(200, { 'Content-Type': 'application/json' }).end(body), delayMs);
          response.on('close', () => clearTimeout(timer));
        });
      });
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    });

    it('fails a job the engine takes longer than the configured timeout for, naming the limit', async () => {
      answer = async () => ({ delayMs: 5000, body: JSON.stringify(await engineResponse(1, 64)) });
      const local = backendFor(url, { timeoutMs: 300 });
      const started = Date.now();
      const failed = await settle(local, await local.submit(job('slow')), 2000);
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'timeout', message: 'the image took longer than the time limit of 0.3 s (ENGINE_TIMEOUT_SECONDS)' } });
      expect(Date.now() - started).toBeLessThan(1500);
      await local.close();
    });

    it('fails the job when the disk is full, with no half-written image left to serve', async () => {
      answer = async () => ({ delayMs: 0, body: JSON.stringify(await engineResponse(1, 64)) });
      const images = store('full');
      // The kernel's own "no space left on device": the image's temporary file is /dev/full.
      mkdirSync(join(images.dir, 'ref-full'), { recursive: true });
      symlinkSync('/dev/full', join(images.dir, 'ref-full', '0.png.partial'));
      const local = backendFor(url, { images });
      const failed = await settle(local, await local.submit(job('full')), 2000);
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'internal_error', message: expect.stringMatching(/could not be saved .*disk full/) } });
      expect(failed.images).toBeUndefined();
      expect(existsSync(join(images.dir, 'ref-full', '0.png'))).toBe(false);
      expect(existsSync(join(images.dir, 'ref-full', '0.png.partial'))).toBe(false);
      await local.close();
    });

    it('fails the job when the image folder cannot be written', async () => {
      answer = async () => ({ delayMs: 0, body: JSON.stringify(await engineResponse(1, 64)) });
      const images = store('unwritable');
      // Where the job's folder should go there is a file (the test runs as root, so modes would not stop it).
      writeFileSync(join(images.dir, 'ref-blocked'), '');
      const local = backendFor(url, { images });
      const failed = await settle(local, await local.submit(job('blocked')), 2000);
      expect(failed).toMatchObject({ status: 'failed', error: { code: 'internal_error' } });
      await local.close();
    });
  });
});

describe('FileImageStore faults', () => {
  it('names the image and the full disk, and leaves neither the image nor its temporary file', async () => {
    const images = store('direct');
    mkdirSync(join(images.dir, 'ref-x'), { recursive: true });
    symlinkSync('/dev/full', join(images.dir, 'ref-x', '1.png.partial'));
    const failure = await images.put('ref-x/1.png', new Uint8Array(64), 'png').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ImageStoreError);
    expect((failure as Error).message).toBe(`cannot save image ref-x/1.png: the disk holding ${images.dir} is full`);
    expect(existsSync(join(images.dir, 'ref-x', '1.png'))).toBe(false);
    // A folder that cannot be made: the message carries the system's reason.
    writeFileSync(join(images.dir, 'ref-file'), '');
    await expect(images.put('ref-file/0.png', new Uint8Array(1), 'png')).rejects.toThrow(/^cannot save image ref-file\/0.png in .*: (ENOTDIR|EEXIST)/);
    // Once there is room again the same key stores normally.
    await images.put('ref-x/1.png', new Uint8Array([1, 2, 3]), 'png');
    expect(existsSync(join(images.dir, 'ref-x', '1.png'))).toBe(true);
  });
});
