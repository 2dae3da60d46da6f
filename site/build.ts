import { build } from 'esbuild';
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { renderIndexHtml } from './src/index-html';

const SOURCE = path.join(__dirname, 'src');
/** Hashed names let a CDN cache the bundle for ever while `index.html` stays short-lived. */
const BUNDLE_PATTERN = /^app-[A-Z0-9]+\.(js|css)$/;
const ICON = 'favicon.svg';
/** The embedding script's name is its address on parent pages (README), so it is never hashed. */
export const EMBED_SCRIPT = 'embed.js';

/** Browsers with ES2020 modules, `<details>`, CSS grid and `createImageBitmap`. */
const TARGETS = ['es2020', 'chrome90', 'edge90', 'firefox90', 'safari15'];

/**
 * Builds the static site into `outDir`: `index.html`, the hashed JS and CSS bundles, the icon and
 * `embed.js` for pages that embed the generator.
 * `config.json` is not written: each deployment (or the local mode) provides its own.
 */
export async function buildSite(outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  for (const name of await readdir(outDir)) {
    if (BUNDLE_PATTERN.test(name)) await rm(path.join(outDir, name));
  }
  const result = await build({
    entryPoints: [
      { in: path.join(SOURCE, 'main.ts'), out: 'app' },
      { in: path.join(SOURCE, 'styles.css'), out: 'app' },
    ],
    outdir: outDir,
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    minify: true,
    target: TARGETS,
    legalComments: 'none',
    metafile: true,
    logLevel: 'silent',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => path.basename(file));
  const script = outputs.find((name) => name.endsWith('.js'));
  const style = outputs.find((name) => name.endsWith('.css'));
  if (script === undefined || style === undefined) throw new Error(`esbuild wrote ${outputs.join(', ')}: expected one .js and one .css`);
  const forbidden = Object.keys(result.metafile.inputs).filter((input) => /node_modules[\\/]zod[\\/]/.test(input));
  if (forbidden.length > 0) throw new Error(`the page bundle must not include zod, but imports ${forbidden[0]}`);

  await buildEmbedScript(outDir);
  await copyFile(path.join(SOURCE, ICON), path.join(outDir, ICON));
  await writeFile(path.join(outDir, 'index.html'), renderIndexHtml({ scriptHref: script, styleHref: style, iconHref: ICON }));
}

/** `/embed.js` for parent pages: a classic script (it reads `document.currentScript`), so an IIFE. */
async function buildEmbedScript(outDir: string): Promise<void> {
  await build({
    entryPoints: [path.join(SOURCE, 'embed-loader.ts')],
    outfile: path.join(outDir, EMBED_SCRIPT),
    bundle: true,
    format: 'iife',
    minify: true,
    target: TARGETS,
    legalComments: 'none',
    logLevel: 'silent',
  });
}

function outDirFromArgs(args: readonly string[]): string {
  const index = args.indexOf('--out');
  const value = index >= 0 ? args[index + 1] : undefined;
  if (value === undefined || value.startsWith('--')) throw new Error('usage: tsx site/build.ts --out DIR');
  return path.resolve(value);
}

if (require.main === module) {
  const outDir = outDirFromArgs(process.argv.slice(2));
  buildSite(outDir).then(
    () => console.log(`site built in ${outDir}`),
    (error: unknown) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
