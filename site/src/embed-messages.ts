/**
 * The one message between the embedded page and `/embed.js` on the parent page, and the bounds the
 * parent keeps the frame within. Shared by both bundles so they cannot drift apart.
 */

/** `?embed` on the page's URL selects the compact view. */
export const EMBED_QUERY_PARAMETER = 'embed';

export const HEIGHT_MESSAGE_TYPE = 'serverless-diffusion:height';

export interface HeightMessage {
  readonly type: typeof HEIGHT_MESSAGE_TYPE;
  /** CSS pixels of the embedded page's content. */
  readonly height: number;
}

/**
 * The frame's height in CSS pixels: tall enough for the prompt and its button before the page has
 * said how tall it is, and never so tall that a runaway (or hostile) value could swallow the
 * parent page.
 */
export const EMBED_FRAME_HEIGHT = { initial: 640, min: 240, max: 6000 } as const;

export function heightMessage(height: number): HeightMessage {
  return { type: HEIGHT_MESSAGE_TYPE, height };
}

/** The frame height a message asks for, kept within the bounds; undefined for anything else. */
export function frameHeightFrom(data: unknown): number | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const { type, height } = data as Partial<Record<keyof HeightMessage, unknown>>;
  if (type !== HEIGHT_MESSAGE_TYPE || typeof height !== 'number' || !Number.isFinite(height)) return undefined;
  return Math.min(EMBED_FRAME_HEIGHT.max, Math.max(EMBED_FRAME_HEIGHT.min, Math.ceil(height)));
}

export function isEmbedUrl(url: URL): boolean {
  return url.searchParams.has(EMBED_QUERY_PARAMETER);
}
