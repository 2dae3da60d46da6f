import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { gzipSync } from 'node:zlib';
import { buildSite } from './build';

/** The budget for everything a first visit downloads before the visitor can type a prompt. */
export const FIRST_VIEW_BUDGET_BYTES = 60 * 1024;

/** What a deployment serves as `config.json` (an API Gateway URL is about this long). */
const SAMPLE_CONFIG = JSON.stringify({ apiBaseUrl: 'https://abcdef1234.execute-api.us-east-1.amazonaws.com/prod' });

export interface FirstView {
  /** Bytes per file as stored, and gzip-compressed as a CDN sends them. */
  readonly files: Readonly<Record<string, { readonly raw: number; readonly gzip: number }>>;
  readonly rawBytes: number;
  readonly gzipBytes: number;
}

/** Same-origin files `index.html` makes the browser fetch, in document order. */
export function referencedFiles(html: string): string[] {
  const refs = [...html.matchAll(/\s(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  return refs.filter((ref) => !/^[a-z][a-z0-9+.-]*:|^\/\/|^#/i.test(ref));
}

/**
 * Sums the first view of a built site: `index.html`, what it references, and `config.json`, which
 * the page fetches before it can talk to the API. Bodies only; HTTP headers are not counted.
 */
export async function measureFirstView(dir: string, configJson: string = SAMPLE_CONFIG): Promise<FirstView> {
  const html = await readFile(path.join(dir, 'index.html'));
  const bodies: Array<[string, Buffer]> = [['index.html', html], ['config.json', Buffer.from(configJson)]];
  for (const ref of referencedFiles(html.toString('utf8'))) bodies.push([ref, await readFile(path.join(dir, ref))]);
  const files: Record<string, { raw: number; gzip: number }> = {};
  for (const [name, body] of bodies) files[name] = { raw: body.length, gzip: gzipSync(body).length };
  const sum = (key: 'raw' | 'gzip') => Object.values(files).reduce((total, file) => total + file[key], 0);
  return { files, rawBytes: sum('raw'), gzipBytes: sum('gzip') };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'site-bench-'));
  try {
    await buildSite(dir);
    const view = await measureFirstView(dir);
    console.log(
      JSON.stringify({
        bench: 'site',
        metric: 'first_view_transferred_bytes',
        transferred_bytes: view.gzipBytes,
        raw_bytes: view.rawBytes,
        target_bytes: FIRST_VIEW_BUDGET_BYTES,
        within_target: view.gzipBytes <= FIRST_VIEW_BUDGET_BYTES,
        compression: 'gzip',
        files: view.files,
      }),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
