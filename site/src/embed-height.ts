import { isAllowedParentOrigin } from './embed-origins';
import { heightMessage } from './embed-messages';

/**
 * The parent page's origin as this framed page can know it: `location.ancestorOrigins` where the
 * browser has it (Chromium, Safari), else the referrer, which `/embed.js` asks to be the parent's
 * origin (`referrerpolicy="origin"`). Undefined when the page is not framed or cannot tell.
 */
export function parentOrigin(): string | undefined {
  if (window.parent === window) return undefined;
  const ancestors = location.ancestorOrigins;
  if (ancestors !== undefined && ancestors.length > 0) return ancestors[0];
  try {
    return document.referrer ? new URL(document.referrer).origin : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Tells the parent page how tall the content is whenever that changes, so `/embed.js` can size the
 * frame (a fixed-height frame either clips the results or leaves a gap). Only to a parent whose
 * origin is allowed to embed the page, and only to that origin: never `*`, which would hand the
 * message to whatever page the frame had been navigated into.
 * @returns whether the parent will be told
 */
export function postHeightToParent(embedOrigins: readonly string[]): boolean {
  const target = parentOrigin();
  if (target === undefined || !isAllowedParentOrigin(target, embedOrigins, location.origin)) return false;
  let posted = -1;
  const post = () => {
    // The root's own box is the content's height, unlike scrollHeight, which never drops below the frame's.
    const height = Math.ceil(document.documentElement.getBoundingClientRect().height);
    if (height === posted) return;
    posted = height;
    window.parent.postMessage(heightMessage(height), target);
  };
  new ResizeObserver(post).observe(document.documentElement);
  return true;
}
