import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { SITE_CONTENT_SECURITY_POLICY } from '../../site/content-security-policy';
import { ORACLE_DIR, TINY_SD } from '../support/oracle';
import { launchChromium } from './helpers/browser';
import { startLocalStack, type LocalStack } from './helpers/local-stack';

/**
 * The page on a deployment that decodes with the tiny VAE: it says so, and while a job runs it
 * shows the engine's live preview, with alt text, before the final image replaces it.
 */
let browser: Browser;
let stack: LocalStack;

beforeAll(async () => {
  [browser, stack] = await Promise.all([
    launchChromium(),
    startLocalStack({ MODEL_DIR: TINY_SD, TINY_VAE_DIR: join(ORACLE_DIR, 'models', 'tiny-taesd'), QUOTA_PER_IP_PER_DAY: '10', QUOTA_GLOBAL_PER_DAY: '100' }),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([browser?.close(), stack?.stop()]);
});

it('states the fast decoder and shows a preview before the final image', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const violations: string[] = [];
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => (window as unknown as { __csp: string[] }).__csp?.push(e.violatedDirective));
    (window as unknown as { __csp: string[] }).__csp = [];
  });
  await page.route(stack.url, async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': SITE_CONTENT_SECURITY_POLICY } });
  });
  await page.goto(stack.url);
  await page.locator('#decoder-note', { hasText: 'fast decoder' }).waitFor();

  await page.getByText('Advanced settings').click();
  await page.getByLabel('Steps').fill('40');
  await page.getByLabel('Size').selectOption('custom');
  await page.getByLabel('Width').fill('256');
  await page.getByLabel('Height').fill('256');
  await page.getByLabel('Describe the image').fill('a red circle on a blue background');
  await page.getByRole('button', { name: 'Generate' }).click();

  const preview = page.locator('#progress-preview');
  await preview.waitFor({ state: 'visible', timeout: 60_000 });
  expect(await page.locator('#result-list img').count()).toBe(0);
  expect(await preview.getAttribute('alt')).toMatch(/^Preview after step \d+ of \d+$/);
  expect(await preview.getAttribute('src')).toMatch(/^data:image\/webp;base64,/);
  await page.waitForFunction(() => {
    const img = document.querySelector<HTMLImageElement>('#progress-preview');
    return img !== null && img.complete && img.naturalWidth > 0 && img.naturalWidth <= 128;
  });

  await page.locator('#result-list img').waitFor({ timeout: 90_000 });
  expect(await preview.isHidden()).toBe(true);
  violations.push(...(await page.evaluate(() => (window as unknown as { __csp: string[] }).__csp)));
  expect(violations).toEqual([]);
  await context.close();
}, 150_000);
