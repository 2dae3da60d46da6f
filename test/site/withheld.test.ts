/**
 * The page when the model's safety checker withholds an image (`npm start` on the oracle's
 * tiny-sd-safety, whose random-weight checker flags what tiny-sd makes of any prompt): a calm
 * placeholder in its place, never a black square, an announcement that says so, and a history
 * entry that records it.
 */
import axe from 'axe-core';
import type { Browser } from 'playwright-core';
import { SITE_CONTENT_SECURITY_POLICY } from '../../site/content-security-policy';
import { WITHHELD_IMAGE_TEXT } from '../../site/src/wording';
import { TINY_SD_SAFETY } from '../support/oracle';
import { launchChromium } from './helpers/browser';
import { startLocalStack, type LocalStack } from './helpers/local-stack';

let browser: Browser;
let stack: LocalStack;

beforeAll(async () => {
  [browser, stack] = await Promise.all([launchChromium(), startLocalStack({ MODEL_DIR: TINY_SD_SAFETY })]);
}, 120_000);

afterAll(async () => {
  await Promise.all([browser?.close(), stack?.stop()]);
});

it('shows the placeholder in place of a withheld image, says so, and records it in the history', async () => {
  const context = await browser.newContext({ viewport: { width: 1000, height: 1200 } });
  const page = await context.newPage();
  await page.route(stack.url, async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, headers: { ...response.headers(), 'content-security-policy': SITE_CONTENT_SECURITY_POLICY } });
  });
  await page.goto(stack.url);
  await page.locator('#backend-note').filter({ hasText: /\S/ }).waitFor();
  await page.getByText('Advanced settings').click();
  await page.getByLabel('Steps').fill('2');
  await page.getByLabel('Describe the image').fill('a cat');
  await page.getByLabel('Describe the image').press('Enter');

  const placeholder = page.locator('#result-list .withheld-placeholder');
  await placeholder.waitFor({ timeout: 60_000 });
  expect((await placeholder.textContent())?.trim()).toBe(WITHHELD_IMAGE_TEXT);
  expect(await page.locator('#result-list img').count()).toBe(0);
  expect(await page.getByRole('button', { name: /Download/ }).count()).toBe(0);
  await page.locator('#status', { hasText: "The site's content filter held back your image." }).waitFor();
  await page.locator('#history', { hasText: '1 image held back by the content filter' }).waitFor();

  await page.evaluate(axe.source);
  const violations = await page.evaluate(async () => {
    const result = await (window as unknown as { axe: typeof axe }).axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => v.id);
  });
  expect(violations).toEqual([]);
  await context.close();
}, 90_000);
