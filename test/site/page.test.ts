import axe from 'axe-core';
import sharp from 'sharp';
import { mkdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { parseGenerationRequest } from '../../contract/generation-request';
import { LIMITS } from '../../contract/limits';
import { referencedFiles } from '../../site/bench';
import { SITE_CONTENT_SECURITY_POLICY } from '../../site/content-security-policy';
import { DEFAULT_HISTORY_KEY } from '../../site/src/history-store';
import { formatRetryDelay } from '../../site/src/wording';
import { caption, colourRanking, type Colour } from '../support/shapes-palette';
import { launchChromium } from './helpers/browser';
import { startLocalStack, type LocalStack } from './helpers/local-stack';

const OUTPUT_DIR = path.resolve(__dirname, '../../test-output');
/** A prompt and seed for the demo model through the whole page; the engine's own semantic test covers many more. */
const DEMO_CASE: { foreground: Colour; shape: string; background: Colour } = { foreground: 'red', shape: 'circle', background: 'blue' };
const DEMO_SEED = 5;
const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Records what the page announced and every CSP violation, from before its own script runs. */
const RECORDER = `
window.__statusLog = [];
window.__historyWhenDone = [];
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
document.addEventListener('DOMContentLoaded', () => {
  const status = document.getElementById('status');
  new MutationObserver(() => {
    window.__statusLog.push(status.textContent);
    // What a reload at that moment would find: a job still pending there is resumed, not shown.
    if (status.textContent.startsWith('Done')) window.__historyWhenDone.push(JSON.parse(localStorage.getItem(${JSON.stringify(DEFAULT_HISTORY_KEY)}) || '[]').map((e) => e.status));
  }).observe(status, { childList: true, characterData: true, subtree: true });
});
`;

interface OpenedPage {
  readonly page: Page;
  /** Same-origin paths the first view fetched. */
  readonly firstViewPaths: string[];
}

let browser: Browser;
let stack: LocalStack;

beforeAll(async () => {
  [browser, stack] = await Promise.all([launchChromium(), startLocalStack({ QUOTA_PER_IP_PER_DAY: '100', QUOTA_GLOBAL_PER_DAY: '100' })]);
}, 120_000);

afterAll(async () => {
  await Promise.all([browser?.close(), stack?.stop()]);
});

/** Opens the page under the site's real CSP (sent as the CDN sends it) and waits for its script. */
async function openPage(context: BrowserContext, url: string): Promise<OpenedPage> {
  const page = await context.newPage();
  const firstViewPaths: string[] = [];
  page.on('request', (request) => {
    const requested = new URL(request.url());
    if (requested.origin === new URL(url).origin) firstViewPaths.push(requested.pathname);
  });
  await page.addInitScript(RECORDER);
  await page.route(url, async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': SITE_CONTENT_SECURITY_POLICY } });
  });
  await page.goto(url);
  await page.locator('#backend-note').filter({ hasText: /\S/ }).waitFor();
  return { page, firstViewPaths };
}

const cspViolations = (page: Page) => page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations);
const statusLog = (page: Page) => page.evaluate(() => (window as unknown as { __statusLog: string[] }).__statusLog);

async function axeViolations(page: Page): Promise<Array<{ id: string; targets: string[] }>> {
  await page.evaluate(axe.source);
  const { passed, violations } = await page.evaluate(async () => {
    const engine = (window as unknown as { axe: typeof axe }).axe;
    const result = await engine.run(document, { resultTypes: ['violations'] });
    return {
      passed: result.passes.map((rule) => rule.id),
      violations: result.violations.map((v) => ({ id: v.id, targets: v.nodes.map((n) => n.target.join(' ')) })),
    };
  });
  // Proof that axe really examined the page: these rules apply to any form like this one.
  expect(passed).toEqual(expect.arrayContaining(['label', 'color-contrast', 'button-name', 'html-has-lang']));
  return violations;
}

async function setSteps(page: Page, steps: number): Promise<void> {
  await page.getByText('Advanced settings').click();
  await page.getByLabel('Steps').fill(String(steps));
}

describe('the front page against the local stack', () => {
  it('generates from the keyboard, shows progress and the image, downloads it, and keeps it in history', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 1300 } });
    const { page, firstViewPaths } = await openPage(context, stack.url);

    // Everything the first view fetched from the site is what bench:site counts, plus the API status.
    const html = await (await fetch(stack.url)).text();
    const counted = new Set(['/', '/config.json', ...referencedFiles(html).map((ref) => `/${ref}`)]);
    expect(firstViewPaths.filter((p) => !p.startsWith('/v1/') && !counted.has(p))).toEqual([]);

    await setSteps(page, 2);
    const prompt = page.getByLabel('Describe the image');
    await prompt.fill('a lighthouse on a cliff');
    await prompt.press('Shift+Enter');
    await prompt.pressSequentially('at dawn');
    expect(await prompt.inputValue()).toBe('a lighthouse on a cliff\nat dawn');
    expect(await page.locator('#status').textContent()).toBe('');

    const accepted = page.waitForResponse((r) => r.url().endsWith('/v1/images') && r.request().method() === 'POST');
    await prompt.press('Enter');
    expect((await accepted).status()).toBe(202);

    const image = page.locator('#result-list img');
    await image.waitFor();
    await page.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('#result-list img');
      return img !== null && img.complete && img.naturalWidth > 0;
    });
    await page.locator('#status', { hasText: 'Done' }).waitFor();
    const log = await statusLog(page);
    expect(log[0]).toBe('Sending your request…');
    expect(log.some((text) => /Queued|waking up|starting up|Generating/.test(text))).toBe(true);
    expect(log[log.length - 1]).toBe('Done: your image is ready.');
    expect(await page.evaluate(() => (window as unknown as { __historyWhenDone: string[][] }).__historyWhenDone)).toEqual([['succeeded']]);
    expect(await image.getAttribute('alt')).toContain('a lighthouse on a cliff');

    await mkdir(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'site.png'), fullPage: true });

    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(stack.url).origin });
    await page.getByRole('button', { name: 'Copy seed' }).click();
    await page.getByRole('button', { name: 'Seed copied' }).waitFor();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(await page.locator('.result-meta').textContent()).toContain(`Seed ${copied} `);

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: /Download/ }).click()]);
    expect(download.suggestedFilename()).toMatch(/^a-lighthouse-on-a-cliff-at-dawn-\d+\.png$/);
    const bytes = await readFile((await download.path())!);
    expect(bytes.subarray(0, 8).equals(PNG_SIGNATURE)).toBe(true);
    const seed = Number(/-(\d+)\.png$/.exec(download.suggestedFilename())![1]);
    expect(String(seed)).toBe(copied);

    await page.getByRole('button', { name: 'Use these settings' }).click();
    expect(await page.getByLabel('Seed').inputValue()).toBe(String(seed));
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('prompt');

    await page.reload();
    const entry = page.locator('#history-list li').first();
    await entry.waitFor();
    expect(await entry.textContent()).toContain('a lighthouse on a cliff');
    expect(await entry.textContent()).toContain(`seed ${seed}`);
    expect(await entry.locator('img').getAttribute('src')).toMatch(/^data:image\/jpeg;base64,/);
    expect(await page.locator('#result-list img').count()).toBe(0);

    await entry.getByRole('button', { name: 'Show' }).click();
    await page.locator('#result-list img').waitFor();
    await entry.getByRole('button', { name: 'Use settings' }).click();
    expect(await prompt.inputValue()).toBe('a lighthouse on a cliff\nat dawn');
    expect(await page.getByLabel('Steps').inputValue()).toBe('2');

    await page.getByRole('button', { name: 'Clear history' }).click();
    expect(await page.locator('#history-list li').count()).toBe(0);
    await page.reload();
    await page.locator('#history-empty').waitFor();
    expect(await page.locator('#history-list li').count()).toBe(0);

    expect(await cspViolations(page)).toEqual([]);
    // Control: the policy is in force, so anything inline would have been caught above.
    await page.evaluate(() => document.body.insertAdjacentHTML('beforeend', '<p style="color: red">inline</p>'));
    await page.waitForFunction(() => (window as unknown as { __cspViolations: string[] }).__cspViolations.length > 0);
    expect(await cspViolations(page)).toEqual([expect.stringMatching(/^style-src/)]);
    await context.close();
  }, 120_000);

  it('shows the API message when the server rejects a setting the page let through', async () => {
    const context = await browser.newContext();
    const { page } = await openPage(context, stack.url);
    const tooMany = LIMITS.stepsMax + 1;
    const expected = parseGenerationRequest({ prompt: 'x', steps: tooMany });
    if (expected.ok) throw new Error('the shared schema accepts the bad value this test sends');

    // Stand in for a page whose own check is out of date: rewrite the body on its way out.
    await page.route('**/v1/images', (route) =>
      route.continue({ postData: JSON.stringify({ ...JSON.parse(route.request().postData() ?? '{}'), steps: tooMany }) }),
    );
    await page.getByLabel('Describe the image').fill('a red fox');
    const rejected = page.waitForResponse((r) => r.url().endsWith('/v1/images'));
    await page.getByRole('button', { name: 'Generate' }).click();
    const response = await rejected;
    expect(response.status()).toBe(400);
    const body = (await response.json()) as { error: { message: string; field: string } };
    expect(body.error).toMatchObject({ field: 'steps', message: expected.error.message });

    const alert = page.getByRole('alert');
    await alert.filter({ hasText: /\S/ }).waitFor();
    expect((await alert.textContent())!.toLowerCase()).toContain(expected.error.message.toLowerCase());
    expect(await page.getByLabel('Steps').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#advanced').getAttribute('open')).not.toBeNull();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('steps');
    expect(await cspViolations(page)).toEqual([]);
    await context.close();
  });

  it('asks for one warm-up per visit, says "Getting ready…" while it runs, and not again on status polls', async () => {
    const context = await browser.newContext();
    let warmUps = 0;
    let statusReads = 0;
    // The local engine is loaded already; here the gateway answers as a cold Lambda deployment would.
    await context.route('**/v1/warmups', (route) => {
      warmUps += 1;
      return route.fulfill({ status: 200, contentType: 'application/json', body: JSON.stringify({ state: 'cold', warming: true }) });
    });
    await context.route('**/v1/status', async (route) => {
      statusReads += 1;
      const response = await route.fetch();
      return route.fulfill({ response, json: { ...(await response.json()), state: 'cold' } });
    });
    const { page } = await openPage(context, stack.url);
    await page.locator('#backend-note', { hasText: 'Getting ready…' }).waitFor();
    expect(warmUps).toBe(1);

    // A new visit warms again. It comes before any job: a reload just after one may resume it, and a
    // page following a job says nothing about warming.
    await page.reload();
    await page.locator('#backend-note', { hasText: 'Getting ready…' }).waitFor();
    expect(warmUps).toBe(2);

    await setSteps(page, 2);
    await page.getByLabel('Describe the image').fill('a red circle');
    await page.getByLabel('Describe the image').press('Enter');
    await page.locator('#status', { hasText: 'Done' }).waitFor();
    expect(statusReads).toBeGreaterThanOrEqual(3);
    expect(warmUps).toBe(2);
    await context.close();
  });

  it('catches out-of-range settings before sending, using the shared limits', async () => {
    const context = await browser.newContext();
    const { page } = await openPage(context, stack.url);
    let posted = 0;
    page.on('request', (request) => void (request.method() === 'POST' && request.url().endsWith('/v1/images') && posted++));
    await setSteps(page, LIMITS.stepsMax + 1);
    await page.getByLabel('Describe the image').fill('a red fox');
    await page.getByLabel('Describe the image').press('Enter');
    await page.locator('#steps-error').filter({ hasText: String(LIMITS.stepsMax) }).waitFor();
    expect(posted).toBe(0);
    expect(await page.getByLabel('Steps').getAttribute('aria-invalid')).toBe('true');
    await context.close();
  });

  it('is operable from the keyboard in a sensible order and fits a phone screen', async () => {
    const context = await browser.newContext({ viewport: { width: 360, height: 740 }, isMobile: true });
    const { page } = await openPage(context, stack.url);
    await page.getByLabel('Describe the image').focus();
    const order: string[] = [];
    for (let i = 0; i < 2; i++) {
      await page.keyboard.press('Tab');
      order.push(await page.evaluate(() => document.activeElement?.id || document.activeElement?.tagName || ''));
    }
    expect(order).toEqual(['generate', 'SUMMARY']);
    await page.keyboard.press('Enter');
    expect(await page.locator('#advanced').getAttribute('open')).not.toBeNull();
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('negative_prompt');

    const seed = page.getByLabel('Seed');
    expect(await seed.inputValue()).toBe('');
    await page.getByRole('button', { name: 'Pick a random seed' }).click();
    const picked = Number(await seed.inputValue());
    expect(Number.isInteger(picked) && picked >= LIMITS.seedMin && picked <= LIMITS.seedMax).toBe(true);

    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await context.close();
  });

  it.each(['light', 'dark'] as const)('shows a real progress bar while generating and cancels from the keyboard (%s mode, axe-clean after)', async (colorScheme) => {
    const context = await browser.newContext({ colorScheme });
    const { page } = await openPage(context, stack.url);
    // Slow enough on the demo model to be watched and canceled: the most steps, two images at 512×512.
    await setSteps(page, 50);
    await page.getByLabel('Size').selectOption('512x512');
    await page.getByLabel('Number of images').selectOption('2');
    await page.getByLabel('Describe the image').fill('a slow sunset');
    await page.getByLabel('Describe the image').press('Enter');

    const bar = page.getByRole('progressbar');
    // While it waits the bar is a labelled estimate; once the engine runs it reports its steps.
    await page.waitForFunction(() => /^Step [1-9]/.test(document.getElementById('progress-bar')?.getAttribute('aria-valuetext') ?? ''), undefined, { timeout: 60_000 });
    expect(await bar.isVisible()).toBe(true);
    expect(await bar.getAttribute('aria-valuetext')).toMatch(/^Step \d+ of \d+ \(\d+%\)$/);
    expect(await bar.getAttribute('class')).not.toContain('estimate');

    const cancel = page.getByRole('button', { name: 'Cancel' });
    await cancel.focus();
    await page.keyboard.press('Enter');
    await page.locator('#notice', { hasText: 'Canceled.' }).waitFor();
    expect(await cancel.isHidden()).toBe(true);
    expect(await page.locator('#progress-meter').isHidden()).toBe(true);
    expect(await page.locator('#history-list').textContent()).toContain('canceled');
    // The status region heard milestones, not every step.
    const log = await statusLog(page);
    expect(log.filter((text) => /done\.$/.test(text)).length).toBeLessThanOrEqual(3);
    expect(await axeViolations(page)).toEqual([]);
    await context.close();
  }, 90_000);

  it("follows the deployed model: its defaults in the form, its size in the hint", async () => {
    const context = await browser.newContext();
    const { page } = await openPage(context, stack.url);
    const { model } = await (await fetch(new URL('/v1/status', stack.url))).json();
    expect(model).toBeDefined();
    await page.getByText('Advanced settings').click();
    await page.locator('#size-hint', { hasText: `${model.width}×${model.height}` }).waitFor();
    expect(await page.getByLabel('Steps').inputValue()).toBe(String(model.steps));
    expect(await page.getByLabel('Guidance').inputValue()).toBe(String(model.guidance_scale));
    expect(await page.locator('#init-image-section').isHidden()).toBe(!model.accepts_init_image);
    await context.close();
  });

  it('paints what it is asked on the bundled demo model, at the defaults the page takes from it', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 1000 } });
    const { page } = await openPage(context, stack.url);
    await page.getByText('Advanced settings').click();
    await page.getByLabel('Seed').fill(String(DEMO_SEED));
    await page.getByText('Advanced settings').click();
    await page.getByLabel('Describe the image').fill(caption(DEMO_CASE.foreground, DEMO_CASE.shape, DEMO_CASE.background));
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.locator('#status', { hasText: 'Done' }).waitFor({ timeout: 60_000 });
    // The bytes the page shows, as a visitor saves them.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: /Download/ }).click()]);
    const { data } = await sharp(await readFile((await download.path())!))
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const ranking = colourRanking(data);
    expect(ranking.slice(0, 2)).toEqual([DEMO_CASE.background, DEMO_CASE.foreground]);
    // The README's picture of the page.
    await mkdir(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'demo-page.png'), fullPage: true });
    await context.close();
  }, 90_000);

  it('starts from a picture: file picker, preview, strength from the keyboard, result, and a small copy in history', async () => {
    const context = await browser.newContext({ colorScheme: 'dark' });
    const { page } = await openPage(context, stack.url);
    await setSteps(page, 4);
    await page.getByText('Start from an image').click();
    const picture = await sharp({ create: { width: 96, height: 80, channels: 3, background: '#d03020' } }).png().toBuffer();
    await page.getByLabel('Picture to start from').setInputFiles({ name: 'red.png', mimeType: 'image/png', buffer: picture });
    await page.getByRole('img', { name: 'Starting picture: red.png' }).waitFor();
    expect(await statusLog(page)).toContain('Picture chosen: red.png, 96 × 80.');

    const strength = page.getByLabel(/Strength/);
    await strength.focus();
    await page.keyboard.press('ArrowLeft');
    await page.keyboard.press('ArrowLeft');
    expect(await strength.inputValue()).toBe('0.7');
    expect(await strength.getAttribute('aria-valuetext')).toBe('0.70: changes it moderately');
    expect(await axeViolations(page)).toEqual([]);

    const sent = page.waitForRequest((r) => r.url().endsWith('/v1/images') && r.method() === 'POST');
    await page.getByLabel('Describe the image').fill('a red square at dusk');
    await page.getByLabel('Describe the image').press('Enter');
    const body = JSON.parse((await sent).postData()!);
    expect(body).toMatchObject({ strength: 0.7, init_image: expect.stringMatching(/^data:image\/png;base64,/) });
    await page.locator('#status', { hasText: 'Done' }).waitFor({ timeout: 60_000 });

    const start = page.locator('#history-list img.init-thumbnail').first();
    expect(await start.getAttribute('alt')).toBe('Starting picture');
    const stored = await page.evaluate((key) => localStorage.getItem(key) ?? '', DEFAULT_HISTORY_KEY);
    // A thumbnail of a few kilobytes is kept, never the upload itself.
    expect(stored).not.toContain(body.init_image.slice(30, 200));
    expect(stored.length).toBeLessThan(40_000);
    await context.close();
  }, 90_000);

  it.each(['light', 'dark'] as const)('has no accessibility violations in %s mode, idle and with results', async (colorScheme) => {
    const context = await browser.newContext({ colorScheme });
    const { page } = await openPage(context, stack.url);
    expect(await axeViolations(page)).toEqual([]);

    await setSteps(page, 1);
    await page.getByLabel('Describe the image').fill('a quiet harbour');
    await page.getByLabel('Describe the image').press('Enter');
    await page.locator('#status', { hasText: 'Done' }).waitFor({ timeout: 60_000 });
    await page.getByLabel('Steps').fill('0');
    await page.getByRole('button', { name: 'Generate' }).click();
    await page.locator('#steps-error').filter({ hasText: /\S/ }).waitFor();
    expect(await axeViolations(page)).toEqual([]);
    await context.close();
  }, 90_000);
});

describe('the front page when quotas are used up', () => {
  let limited: LocalStack;
  beforeAll(async () => {
    // Quotas count images. The per-visitor quota is checked first: 3 images break it; 2 images pass
    // it and break the site-wide budget (the spend guard). No image is ever generated here.
    limited = await startLocalStack({ QUOTA_PER_IP_PER_DAY: '2', QUOTA_GLOBAL_PER_DAY: '1' });
  }, 120_000);
  afterAll(() => limited?.stop());

  async function refusedFor(numImages: number): Promise<{ page: Page; context: BrowserContext; code: string; retryAfter: number; message: string }> {
    const context = await browser.newContext();
    const { page } = await openPage(context, limited.url);
    await page.getByText('Advanced settings').click();
    await page.getByLabel('Number of images').selectOption(String(numImages));
    await page.getByLabel('Describe the image').fill('a red fox');
    const refused = page.waitForResponse((r) => r.url().endsWith('/v1/images'));
    await page.getByLabel('Describe the image').press('Enter');
    const response = await refused;
    const body = (await response.json()) as { error: { code: string; retry_after_seconds: number; message: string } };
    expect(Number(response.headers()['retry-after'])).toBe(body.error.retry_after_seconds);
    await page.getByRole('alert').filter({ hasText: /\S/ }).waitFor();
    return { page, context, code: body.error.code, retryAfter: body.error.retry_after_seconds, message: body.error.message };
  }

  it('tells a visitor over quota when they can try again', async () => {
    const { page, context, code, retryAfter } = await refusedFor(3);
    expect(code).toBe('quota_exceeded');
    const text = (await page.getByRole('alert').textContent())!;
    expect(text).toContain('as many images as one visitor may');
    expect(text).toContain(`try again in ${formatRetryDelay(retryAfter)}`);
    expect(text).toMatch(/\(at \d\d:\d\d\)/);
    expect(await page.getByRole('button', { name: 'Generate' }).getAttribute('aria-disabled')).toBe('false');
    await context.close();
  });

  it('explains the spend guard in plain words, with the server message and the retry time', async () => {
    const { page, context, code, retryAfter, message } = await refusedFor(2);
    expect(code).toBe('spend_guard');
    const text = (await page.getByRole('alert').textContent())!;
    expect(text).toContain('spent its image budget for today');
    expect(text.toLowerCase()).toContain(message.toLowerCase());
    expect(text).toContain(`try again in ${formatRetryDelay(retryAfter)}`);
    await context.close();
  });
});
