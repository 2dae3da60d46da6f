import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
/** Local mode builds the site and starts the engine before it listens. */
const START_TIMEOUT_MS = 90_000;

export interface LocalStack {
  /** The page's URL, e.g. `http://127.0.0.1:41234/`. */
  readonly url: string;
  /** Everything the stack printed so far, for failure messages. */
  output(): string;
  stop(): Promise<void>;
  /** Ends it at once with SIGKILL, as a crash or a closed terminal would. */
  kill(): Promise<void>;
}

/**
 * Runs `npm start`, the real local stack (site, gateway, engine with the bundled demo model), on a free
 * port with its own data folder, and waits until it serves the page and its engine is ready.
 */
export async function startLocalStack(
  env: Readonly<Record<string, string>> = {},
  /** A data folder to reuse (a restart); the caller removes it. @default - a fresh one, removed on stop */
  reuseDataDir?: string,
): Promise<LocalStack> {
  const dataDir = reuseDataDir ?? (await mkdtemp(path.join(tmpdir(), 'site-local-stack-')));
  const child = spawn('npm', ['start'], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: '0', LOCAL_DATA_DIR: dataDir },
    // Its own process group, so stopping it also stops what npm started.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const stop = async () => {
    await stopProcessGroup(child);
    if (!reuseDataDir) await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const url = await waitUntilServing(child, () => output);
    return { url, output: () => output, stop, kill: () => stopProcessGroup(child, 'SIGKILL') };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function waitUntilServing(child: ChildProcess, output: () => string): Promise<string> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`npm start exited (${child.exitCode ?? child.signalCode}) before serving:\n${output()}`);
    }
    // npm start prints its URL, then a line once the model is loaded.
    const printed = /(http:\/\/[^\s/]+)/.exec(output())?.[1];
    if (printed !== undefined && /model ready/i.test(output())) {
      const page = `${printed}/`;
      if (await fetch(page).then((r) => r.ok, () => false)) return page;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`npm start did not serve within ${START_TIMEOUT_MS} ms:\n${output()}`);
}

async function stopProcessGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(-child.pid, signal);
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
