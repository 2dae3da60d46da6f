import axe from 'axe-core';
import { mkdir } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { Browser, BrowserContext, ElementHandle, Frame, Page } from 'playwright-core';
import { EMBED_SCRIPT } from '../../site/build';
import { EMBED_FRAME_HEIGHT, HEIGHT_MESSAGE_TYPE } from '../../site/src/embed-messages';
import { launchChromium } from './helpers/browser';
import { startLocalStack, type LocalStack } from './helpers/local-stack';

/**
 * Issue 22 through `npm start`: blog pages on other loopback origins (`localhost` on their own
 * ports; the generator is on 127.0.0.1) embed the generator with `/embed.js`, under a parent CSP as
 * strict as the site's own.
 */
const OUTPUT_DIR = path.resolve(__dirname, '../../test-output');

interface ParentSite {
  readonly origin: string;
  close(): Promise<void>;
}

let browser: Browser;
let stack: LocalStack;
let listed: ParentSite;
let unlisted: ParentSite;

/**
 * Serves a blog post that embeds the generator; `?foreign` adds a frame from the unlisted origin
 * and a second frame from the generator's own origin that embed.js did not make.
 */
async function startParentSite(siteUrl: () => string, foreignOrigin: () => string): Promise<ParentSite> {
  const server: Server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://parent');
    if (url.pathname === '/foreign.html') {
      response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
      response.end('<!doctype html><html lang="en"><title>Someone else</title><p>Not the generator.</p></html>');
      return;
    }
    const site = new URL(siteUrl()).origin;
    const foreign = url.searchParams.has('foreign')
      ? `<iframe id="foreign" title="Someone else's frame" src="${foreignOrigin()}/foreign.html"></iframe><iframe id="other-site-frame" title="Another frame of the generator's site" src="${site}/favicon.svg"></iframe>`
      : '';
    response.writeHead(200, {
      'Content-Type': 'text/html; charset=utf-8',
      // Nothing inline, no styles at all: embed.js must work without either.
      'Content-Security-Policy': `default-src 'none'; script-src ${site}; frame-src ${site} ${foreignOrigin()}; style-src 'none'`,
    });
    response.end(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A blog post</title></head>
<body><main><h1>A blog post</h1><p>Try it here:</p>
<div data-serverless-diffusion><a href="${siteUrl()}">Make an image</a></div>
<p>And the post goes on.</p>${foreign}
<script src="${site}/${EMBED_SCRIPT}" async></script>
</main></body></html>`);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    origin: `http://localhost:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

const CSP_RECORDER = `
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));
`;

beforeAll(async () => {
  listed = await startParentSite(() => stack.url, () => unlisted.origin);
  unlisted = await startParentSite(() => stack.url, () => unlisted.origin);
  [browser, stack] = await Promise.all([launchChromium(), startLocalStack({ EMBED_ORIGINS: listed.origin })]);
}, 120_000);

afterAll(async () => {
  await Promise.all([browser?.close(), stack?.stop(), listed?.close(), unlisted?.close()]);
});

interface Embedded {
  readonly page: Page;
  readonly iframe: ElementHandle<HTMLIFrameElement>;
  readonly frame: Frame;
}

async function openParent(context: BrowserContext, url: string): Promise<Embedded> {
  const page = await context.newPage();
  await page.addInitScript(CSP_RECORDER);
  await page.goto(url);
  const iframe = (await page.waitForSelector('[data-serverless-diffusion] iframe')) as ElementHandle<HTMLIFrameElement>;
  const frame = (await iframe.contentFrame())!;
  return { page, iframe, frame };
}

/** Asks `read` until it gives `expected`; fails with the last answer after a few seconds. */
async function eventually<T>(read: () => Promise<T>, matches: (value: T) => boolean, what: string): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const value = await read();
    if (matches(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: still ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until the frame is as tall as its content, and returns that height. */
async function frameFitsContent({ iframe, frame }: Embedded): Promise<number> {
  const [content] = await eventually(
    async () => [
      await frame.evaluate(() => Math.ceil(document.documentElement.getBoundingClientRect().height)),
      Number(await iframe.getAttribute('height')),
    ],
    ([contentHeight, frameHeight]) => contentHeight === frameHeight,
    'content height vs frame height',
  );
  return content;
}

async function axeViolations(frame: Frame): Promise<Array<{ id: string; targets: string[] }>> {
  await frame.evaluate(axe.source);
  return frame.evaluate(async () => {
    const engine = (window as unknown as { axe: typeof axe }).axe;
    const result = await engine.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, targets: v.nodes.map((n) => n.target.join(' ')) }));
  });
}

describe('embedding the generator in another site', () => {
  it('embeds through /embed.js, generates in the frame, grows with it and ignores foreign height messages', async () => {
    // Tall enough that the whole post, frame included, is painted for the screenshot.
    const context = await browser.newContext({ viewport: { width: 800, height: 1800 } });
    const embedded = await openParent(context, `${listed.origin}/?foreign`);
    const { page, iframe, frame } = embedded;
    expect(await iframe.evaluate((f) => ({ src: f.src, title: f.title, loading: f.loading, style: f.getAttribute('style') }))).toEqual({
      src: `${stack.url}?embed`,
      title: expect.stringMatching(/\S/),
      loading: 'lazy',
      style: null,
    });
    await frame.locator('#backend-note').filter({ hasText: /\S/ }).waitFor();

    // The compact view: results above the form, the history folded, a way out to the full page.
    const order = await frame.evaluate(() => [...document.querySelectorAll('main > *')].map((e) => e.id));
    expect(order.indexOf('results')).toBeLessThan(order.indexOf('generate-form'));
    expect(await frame.locator('#history-fold').getAttribute('open')).toBeNull();
    // The title block is there for screen readers only.
    expect(await frame.getByRole('heading', { level: 1 }).count()).toBe(1);
    expect((await frame.locator('.page-header').boundingBox())!.height).toBeLessThanOrEqual(1);
    const fullPage = frame.getByRole('link', { name: 'Open the full page (opens in a new tab)' });
    expect(await fullPage.getAttribute('target')).toBe('_blank');
    expect(await fullPage.getAttribute('href')).toBe(stack.url);

    // What the page falls back on where a browser lacks location.ancestorOrigins (Firefox).
    expect(await frame.evaluate(() => document.referrer)).toBe(`${listed.origin}/`);

    const before = await frameFitsContent(embedded);
    expect(before).not.toBe(EMBED_FRAME_HEIGHT.initial);

    // From the keyboard, inside the frame: one step on the demo model.
    await frame.getByLabel('Describe the image').focus();
    await page.keyboard.press('Tab');
    expect(await frame.evaluate(() => document.activeElement?.id)).toBe('generate');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    expect(await frame.locator('#advanced').getAttribute('open')).not.toBeNull();
    await frame.getByLabel('Steps').fill('1');
    await frame.getByLabel('Describe the image').fill('a red circle on a blue background');
    await frame.getByLabel('Describe the image').press('Enter');
    await frame.locator('#status', { hasText: 'Done' }).waitFor({ timeout: 60_000 });
    await frame.waitForFunction(() => {
      const img = document.querySelector<HTMLImageElement>('#result-list img');
      return img !== null && img.complete && img.naturalWidth > 0;
    });
    const after = await frameFitsContent(embedded);
    expect(after).toBeGreaterThan(before);
    expect(await frame.evaluate(() => document.documentElement.scrollHeight <= window.innerHeight)).toBe(true);
    expect(await axeViolations(frame)).toEqual([]);
    await mkdir(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'embed.png'), fullPage: true });

    // A well-formed height message from another origin's frame, from a frame of the site that is not
    // the generator's, or from the parent page itself, changes nothing.
    await page.evaluate(() => {
      const seen: string[] = ((window as unknown as { __heightMessages: string[] }).__heightMessages = []);
      window.addEventListener('message', (event) => seen.push(event.origin));
    });
    const foreignFrame = (await (await page.$('#foreign'))!.contentFrame())!;
    await foreignFrame.evaluate((type) => parent.postMessage({ type, height: 2000 }, '*'), HEIGHT_MESSAGE_TYPE);
    const otherSiteFrame = (await (await page.$('#other-site-frame'))!.contentFrame())!;
    await otherSiteFrame.evaluate((type) => parent.postMessage({ type, height: 2000 }, '*'), HEIGHT_MESSAGE_TYPE);
    await page.evaluate((type) => window.postMessage({ type, height: 2000 }, '*'), HEIGHT_MESSAGE_TYPE);
    await page.waitForFunction(() => (window as unknown as { __heightMessages: string[] }).__heightMessages.length === 3);
    const siteOrigin = new URL(stack.url).origin;
    expect(await page.evaluate(() => (window as unknown as { __heightMessages: string[] }).__heightMessages)).toEqual([unlisted.origin, siteOrigin, listed.origin]);
    expect(await iframe.getAttribute('height')).toBe(String(after));
    // Control: the same message from the generator's own frame is obeyed.
    await frame.evaluate((type) => parent.postMessage({ type, height: 2000 }, '*'), HEIGHT_MESSAGE_TYPE);
    await eventually(() => iframe.getAttribute('height'), (height) => height === '2000', 'frame height');
    // The same window, once it shows another origin's page, is no longer obeyed.
    const navigated = page.waitForEvent('framenavigated', (f) => f.url() === `${unlisted.origin}/foreign.html`);
    await frame.evaluate((url) => void (location.href = url), `${unlisted.origin}/foreign.html`);
    const elsewhere = await navigated;
    await elsewhere.waitForLoadState();
    await elsewhere.evaluate((type) => parent.postMessage({ type, height: 3000 }, '*'), HEIGHT_MESSAGE_TYPE);
    await page.waitForFunction(() => (window as unknown as { __heightMessages: string[] }).__heightMessages.length === 5);
    expect(await iframe.getAttribute('height')).toBe('2000');

    expect(await page.evaluate(() => (window as unknown as { __cspViolations: string[] }).__cspViolations)).toEqual([]);
    await context.close();
  }, 90_000);

  it('is axe-clean in dark mode with the history unfolded, and the frame follows it both ways', async () => {
    const context = await browser.newContext({ colorScheme: 'dark' });
    const embedded = await openParent(context, `${listed.origin}/`);
    const { frame } = embedded;
    await frame.locator('#backend-note').filter({ hasText: /\S/ }).waitFor();
    const folded = await frameFitsContent(embedded);
    await frame.locator('#history-fold > summary').focus();
    await frame.page().keyboard.press('Enter');
    expect(await frame.locator('#history-fold').getAttribute('open')).not.toBeNull();
    expect(await frameFitsContent(embedded)).toBeGreaterThan(folded);
    expect(await axeViolations(frame)).toEqual([]);
    // And shrinks back when it is folded again.
    await frame.page().keyboard.press('Enter');
    expect(await frameFitsContent(embedded)).toBe(folded);
    await context.close();
  }, 60_000);

  it('is not shown on a page whose origin is not on the list', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const served = page.waitForResponse((response) => response.url() === `${stack.url}?embed`);
    await page.goto(`${unlisted.origin}/`);
    const response = await served;
    expect(response.headers()['content-security-policy']).toContain(`frame-ancestors 'self' ${listed.origin}`);
    expect(response.headers()['x-frame-options']).toBeUndefined();
    const iframe = page.locator('[data-serverless-diffusion] iframe');
    const frame = (await (await iframe.elementHandle())!.contentFrame())!;
    await frame.waitForLoadState();
    // The browser put its own error page in the frame; the generator never ran, so it never sized it.
    expect(frame.url()).not.toContain(new URL(stack.url).host);
    expect(await frame.locator('#generate-form').count()).toBe(0);
    expect(await iframe.getAttribute('height')).toBe(String(EMBED_FRAME_HEIGHT.initial));
    await mkdir(OUTPUT_DIR, { recursive: true });
    await page.screenshot({ path: path.join(OUTPUT_DIR, 'embed-refused.png') });
    await context.close();
  });
});
