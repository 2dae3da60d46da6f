/** The container process as SageMaker runs it: `npm run serve`, then SIGTERM. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { postJson, waitUntilReady } from '../support/http';
import { TINY_SD } from '../support/oracle';
import { REPO_ROOT } from '../support/run-command';

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  readonly logs: Array<Record<string, unknown>>;
}

async function startServe(env: Record<string, string> = {}): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'container/src/server/main.ts'], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', MODEL_DIR: TINY_SD, EXECUTION_PROVIDER: 'cpu', ...env },
  });
  const logs: Array<Record<string, unknown>> = [];
  let buffered = '';
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let newline;
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const entry = JSON.parse(buffered.slice(0, newline));
        buffered = buffered.slice(newline + 1);
        logs.push(entry);
        if (entry.message === 'listening') resolve(entry.url as string);
      }
    });
    child.once('exit', (code) => reject(new Error(`server exited early with ${code}`)));
  });
  return { child, url, logs };
}

describe('npm run serve lifecycle', () => {
  it('exits 0 promptly on SIGTERM when idle', async () => {
    const { child, url } = await startServe();
    await waitUntilReady(url);
    const exited = once(child, 'exit');
    const signalled = Date.now();
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(3000);
  });

  it('stops accepting, cancels the running job after the grace period, answers it 503 and exits 0', async () => {
    const { child, url, logs } = await startServe({ SHUTDOWN_GRACE_MS: '300' });
    await waitUntilReady(url);
    const running = postJson(`${url}/invocations`, { prompt: 'a long one', steps: 50, width: 256, height: 256 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const exited = once(child, 'exit');
    const signalled = Date.now();
    child.kill('SIGTERM');
    const response = await running;
    expect(response.status).toBe(503);
    expect(response.json().error.code).toBe('shutting_down');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(5000);
    expect(logs.some((entry) => entry.message === 'stopping' && entry.signal === 'SIGTERM')).toBe(true);
  });

  it('finishes a job that completes within the grace period', async () => {
    const { child, url } = await startServe({ SHUTDOWN_GRACE_MS: '10000' });
    await waitUntilReady(url);
    const running = postJson(`${url}/invocations`, { prompt: 'a short one', steps: 3 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    expect((await running).status).toBe(200);
    expect((await exited)[0]).toBe(0);
  });

  it('exits 1 with a log line when the model cannot be loaded', async () => {
    const { child, logs } = await startServe({ MODEL_DIR: '/nonexistent/model' });
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(logs.some((entry) => entry.message === 'model failed to load' && String(entry.error).includes('does not exist'))).toBe(true);
  });
});
