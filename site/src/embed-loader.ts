/**
 * `/embed.js`, the script a parent page includes to embed the generator (issue 22):
 *
 *   <div data-serverless-diffusion><a href="https://images.example.com/">Make an image</a></div>
 *   <script src="https://images.example.com/embed.js" async></script>
 *
 * Each such element becomes a frame of the `?embed` view that grows with its content. It runs on
 * someone else's page, under their Content-Security-Policy, so it adds no inline style and no
 * stylesheet: size goes through the frame's own `width`/`height` attributes, and how the frame
 * looks beyond that is the parent's stylesheet's business (`[data-serverless-diffusion] iframe`).
 * A classic script, not a module, so `document.currentScript` says where the site is.
 */
import { EMBED_FRAME_HEIGHT, EMBED_QUERY_PARAMETER, frameHeightFrom } from './embed-messages';

const SELECTOR = '[data-serverless-diffusion]';
const DEFAULT_TITLE = 'Serverless Diffusion: make an image from words';

const script = document.currentScript as HTMLScriptElement | null;
if (script?.src) start(new URL(script.src));

function start(scriptUrl: URL): void {
  const siteOrigin = scriptUrl.origin;
  const pageHref = `${new URL('./', scriptUrl).href}?${EMBED_QUERY_PARAMETER}`;
  const frames = new Map<MessageEventSource, HTMLIFrameElement>();

  // Only the site's own page, in a frame this script made, may resize that frame: a message from
  // any other origin or window (another frame of the site included) is ignored.
  window.addEventListener('message', (event) => {
    if (event.origin !== siteOrigin || event.source === null) return;
    const frame = frames.get(event.source);
    const height = frameHeightFrom(event.data);
    if (frame !== undefined && height !== undefined) frame.height = String(height);
  });

  const embedAll = () => {
    for (const host of document.querySelectorAll<HTMLElement>(SELECTOR)) {
      if (host.querySelector('iframe') !== null) continue;
      const frame = document.createElement('iframe');
      frame.src = pageHref;
      frame.title = host.dataset.title || DEFAULT_TITLE;
      frame.loading = 'lazy';
      frame.width = '100%';
      frame.height = String(EMBED_FRAME_HEIGHT.initial);
      // The one way to drop the default inset border without a style: at 100% width it would
      // otherwise push the frame past the column. Obsolete, but every browser still honours it.
      frame.setAttribute('frameborder', '0');
      // The embedded page posts its height only to an origin it can check; without
      // `location.ancestorOrigins` (Firefox) the referrer is how it learns the parent's origin.
      frame.referrerPolicy = 'origin';
      frame.allow = 'clipboard-write';
      host.replaceChildren(frame);
      // A frame's window stays the same object across its navigations, so it can key the map now.
      if (frame.contentWindow !== null) frames.set(frame.contentWindow, frame);
    }
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', embedAll);
  else embedAll();
}
