/**
 * Which parent pages may frame the generator (issue 22): one rule for the deployment's
 * `site.embedOrigins`, local mode's `EMBED_ORIGINS`, the CSP's `frame-ancestors` and the page's
 * choice of where to post its height. Plain functions with no dependencies, so the browser bundle,
 * the CDK app and the local server all import this one file.
 *
 * Only exact origins: CSP would accept `https://*.example.com`, but a wildcard would also let any
 * page on a shared host (`*.github.io`) frame the generator and read its height; list each site.
 */

const ORIGIN = /^(https?):\/\/([a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::(\d{1,5}))?$/;

export interface EmbedOriginRules {
  /** Accept `http://` origins too: local mode runs on loopback without TLS. @default false */
  readonly allowHttp?: boolean;
}

/** Why `value` is not an origin a parent page can have, or undefined when it is one. */
export function embedOriginProblem(value: string, rules: EmbedOriginRules = {}): string | undefined {
  const example = rules.allowHttp ? 'http://localhost:4000 or https://blog.example.com' : 'https://blog.example.com';
  const expected = `expected an exact origin such as ${example} (scheme and host, no path, no trailing slash)`;
  const shown = JSON.stringify(value);
  if (value.includes('*')) return `${shown} has a wildcard: list each origin that may embed the page; ${expected}`;
  if (value !== value.trim() || value === '') return `${shown} is not an origin: ${expected}`;
  if (value !== value.toLowerCase()) return `${shown} has capitals, which a browser never sends in an origin: write it in lower case`;
  const match = ORIGIN.exec(value);
  if (!match) {
    const withPath = /^https?:\/\/[^/]+\//.test(value);
    return `${shown} ${withPath ? 'has a path or a trailing slash' : 'is not an origin'}: ${expected}`;
  }
  const [, scheme, , port] = match;
  if (scheme !== 'https' && !rules.allowHttp) return `${shown} is not https: a page served over plain http cannot embed an https site safely; ${expected}`;
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) return `${shown} has no valid port: ${expected}`;
  return undefined;
}

/**
 * Whether a parent of this origin may receive the page's messages: one of the listed origins or the
 * site itself (`frame-ancestors 'self'`). `null` (a sandboxed or opaque parent) never is.
 */
export function isAllowedParentOrigin(parentOrigin: string, embedOrigins: readonly string[], siteOrigin: string): boolean {
  if (parentOrigin === 'null' || parentOrigin === '') return false;
  return parentOrigin === siteOrigin || embedOrigins.includes(parentOrigin);
}
