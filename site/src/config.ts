/** The deployment-specific settings, read at run time so one build serves every deployment. */
export interface SiteConfig {
  /** Absolute API base URL, or '' when the API shares the page's origin. */
  readonly apiBaseUrl: string;
  /** Origins besides the site's own whose pages may embed it (`site.embedOrigins`); absent means none. */
  readonly embedOrigins: readonly string[];
}

export function parseConfig(value: unknown): SiteConfig {
  const { apiBaseUrl, embedOrigins = [] } = (value ?? {}) as Partial<Record<keyof SiteConfig, unknown>>;
  if (typeof apiBaseUrl !== 'string') throw new Error('config.json must have a string "apiBaseUrl"');
  if (apiBaseUrl !== '' && !/^https?:\/\//.test(apiBaseUrl)) {
    throw new Error(`config.json "apiBaseUrl" must be an absolute http(s) URL or '' but is ${JSON.stringify(apiBaseUrl)}`);
  }
  if (!Array.isArray(embedOrigins) || !embedOrigins.every((origin) => typeof origin === 'string')) {
    throw new Error('config.json "embedOrigins" must be a list of origins');
  }
  return { apiBaseUrl, embedOrigins };
}

/** `config.json` sits beside the page; it changes per deployment, so it is never cached. */
export async function loadConfig(pageUrl: string): Promise<SiteConfig> {
  const response = await fetch(new URL('config.json', pageUrl).href, { cache: 'no-cache' });
  if (!response.ok) throw new Error(`config.json answered HTTP ${response.status}`);
  return parseConfig(await response.json());
}
