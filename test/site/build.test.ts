import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { LIMITS, OUTPUT_FORMATS, SCHEDULER_NAMES } from '../../contract/limits';
import { SIZE_PRESETS } from '../../site/src/choices';
import { FIRST_VIEW_BUDGET_BYTES, measureFirstView, referencedFiles } from '../../site/bench';
import { buildSite } from '../../site/build';

let dir: string;
let html: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'site-build-'));
  await writeFile(path.join(dir, 'app-STALE123.js'), 'old');
  await buildSite(dir);
  html = await readFile(path.join(dir, 'index.html'), 'utf8');
});

afterAll(() => rm(dir, { recursive: true, force: true }));

describe('buildSite', () => {
  it('writes the page, its hashed bundles and icon, and leaves config.json to the deployment', async () => {
    const files = (await readdir(dir)).sort();
    expect(files).toEqual(expect.arrayContaining(['index.html', 'favicon.svg']));
    expect(files).not.toContain('config.json');
    expect(files).not.toContain('app-STALE123.js');
    const refs = referencedFiles(html);
    expect(refs).toEqual(expect.arrayContaining([expect.stringMatching(/^app-[A-Z0-9]+\.js$/), expect.stringMatching(/^app-[A-Z0-9]+\.css$/)]));
    for (const ref of refs) expect(files).toContain(ref);
  });

  it('has no inline script, style or event handler, so a strict CSP holds', () => {
    expect(html).not.toMatch(/<script(?![^>]*\ssrc=)[^>]*>/i);
    expect(html).not.toMatch(/<style/i);
    expect(html).not.toMatch(/\sstyle=/i);
    expect(html).not.toMatch(/\son[a-z]+=/i);
  });

  it('renders the form limits and choices from the shared definition', () => {
    expect(html).toContain(`id="steps" name="steps" min="${LIMITS.stepsMin}" max="${LIMITS.stepsMax}"`);
    expect(html).toContain(`maxlength="${LIMITS.promptMaxLength}"`);
    for (const name of SCHEDULER_NAMES) expect(html).toContain(`<option value="${name}"`);
    for (const format of OUTPUT_FORMATS) expect(html).toContain(`<option value="${format}"`);
    for (const preset of SIZE_PRESETS) expect(html).toContain(`<option value="${preset.width}x${preset.height}">`);
    expect(html.match(/<select id="num_images"[^]*?<\/select>/)?.[0].match(/<option/g)).toHaveLength(LIMITS.numImagesMax - LIMITS.numImagesMin + 1);
  });

  it('keeps the validator out of the page bundle', async () => {
    const script = referencedFiles(html).find((ref) => ref.endsWith('.js'))!;
    const js = await readFile(path.join(dir, script), 'utf8');
    expect(js).not.toMatch(/ZodError|\$ZodType/);
    expect(js).toContain(`${LIMITS.seedMax}`);
  });

  it('fits the first view in the transfer budget', async () => {
    const view = await measureFirstView(dir);
    expect(Object.keys(view.files)).toEqual(expect.arrayContaining(['index.html', 'config.json', ...referencedFiles(html)]));
    expect(view.gzipBytes).toBeLessThanOrEqual(FIRST_VIEW_BUDGET_BYTES);
  });
});
