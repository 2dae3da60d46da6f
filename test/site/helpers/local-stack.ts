import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
/** Local mode loads the tiny model and builds the site before it listens. */
const START_TIMEOUT_MS = 90_000;

export interface LocalStack {
  /** The page's URL, e.g. `http://127.0.0.1:41234/`. */
  readonly url: string;
  /** Everything the stack printed so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Runs `npm start`, the real local stack (gateway + engine + site), on a free port, and waits
 * until it prints its URL and serves the page.
 */
export async function startLocalStack(env: Readonly<Record<string, string>> = {}): Promise<LocalStack> {
  const port = await freePort();
  const child = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port) },
    // Its own process group, so stopping it also stops what npm started.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stack: LocalStack = { url: `http://127.0.0.1:${port}/`, output: () => output, stop: () => stopProcessGroup(child) };
  try {
    await waitUntilServing(child, stack);
  } catch (error) {
    await stack.stop();
    throw error;
  }
  return stack;
}

async function waitUntilServing(child: ChildProcess, stack: LocalStack): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`npm start exited (${child.exitCode ?? child.signalCode}) before serving:\n${stack.output()}`);
    }
    if (stack.output().includes(`:${new URL(stack.url).port}`)) {
      const ok = await fetch(stack.url).then(
        (response) => response.ok,
        () => false,
      );
      if (ok) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`npm start did not serve ${stack.url} within ${START_TIMEOUT_MS} ms:\n${stack.output()}`);
}

async function stopProcessGroup(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(-child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }, 10_000);
  await exited;
  clearTimeout(timer);
}
