import { embedOriginProblem } from '../site/src/embed-origins';

/**
 * Local mode's `site.embedOrigins`: `EMBED_ORIGINS`, origins separated by commas or spaces. Plain
 * http is allowed here, since a local blog preview (`jekyll serve`, http://localhost:4000) has no TLS.
 */
export function parseEmbedOrigins(value: string | undefined): string[] {
  const origins = (value ?? '').split(/[\s,]+/).filter((origin) => origin !== '');
  for (const origin of origins) {
    const problem = embedOriginProblem(origin, { allowHttp: true });
    if (problem !== undefined) throw new Error(`EMBED_ORIGINS: ${problem}`);
  }
  return [...new Set(origins)];
}
