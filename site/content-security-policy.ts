import { embedOriginProblem } from './src/embed-origins';

/**
 * The one Content-Security-Policy of the page: nothing inline, nothing eval'd, framed only by the
 * pages its operator lists (`site.embedOrigins`, issue 22).
 * The CDN and the local mode send it as a header (a `<meta>` tag could not set `frame-ancestors`),
 * and the browser tests run the page under it.
 */
export interface ContentSecurityPolicyOptions {
  /**
   * Origins besides the site's own that the page fetches from and shows images of: the API and the
   * presigned URLs of the jobs bucket in AWS. Wildcard hosts are allowed.
   * @default - none: the API and images share the page's origin (local mode)
   */
  readonly remoteOrigins?: readonly string[];
  /**
   * Exact origins of pages that may show the site in a frame (`site/src/embed-origins.ts` checks
   * them). With any, `frame-ancestors` allows them and the site itself, and X-Frame-Options, which
   * cannot name a list, must not be sent (`frameOptionsHeader`).
   * @default - none: no page may frame the site
   */
  readonly embedOrigins?: readonly string[];
  /** Upgrade any http subresource to https; right behind CloudFront, wrong on http://localhost. @default false */
  readonly upgradeInsecureRequests?: boolean;
}

export function siteContentSecurityPolicy(options: ContentSecurityPolicyOptions = {}): string {
  const remote = options.remoteOrigins ?? [];
  const directives: Array<[string, ...string[]]> = [
    ['default-src', "'none'"],
    ['script-src', "'self'"],
    ['style-src', "'self'"],
    ['img-src', "'self'", 'data:', 'blob:', ...remote],
    ['connect-src', "'self'", ...remote],
    ['font-src', "'self'"],
    ['manifest-src', "'self'"],
    ['object-src', "'none'"],
    ['base-uri', "'none'"],
    ['form-action', "'none'"],
    frameAncestors(options.embedOrigins ?? []),
  ];
  if (options.upgradeInsecureRequests) directives.push(['upgrade-insecure-requests']);
  return directives.map((directive) => directive.join(' ')).join('; ');
}

function frameAncestors(embedOrigins: readonly string[]): [string, ...string[]] {
  // Checked here too: a stray `;` or space in an origin would add directives to the policy.
  const problem = embedOrigins.map((origin) => embedOriginProblem(origin, { allowHttp: true })).find(Boolean);
  if (problem !== undefined) throw new Error(`embed origin ${problem}`);
  return embedOrigins.length > 0 ? ['frame-ancestors', "'self'", ...embedOrigins] : ['frame-ancestors', "'none'"];
}

/**
 * X-Frame-Options to send beside the policy: DENY for browsers that predate `frame-ancestors`, or
 * none when pages may embed the site: it cannot name a list, so any value would stop an older
 * browser from showing the frame on the very pages the operator listed.
 */
export function frameOptionsHeader(embedOrigins: readonly string[] = []): 'DENY' | undefined {
  return embedOrigins.length > 0 ? undefined : 'DENY';
}

/** The policy where the API and images share the page's origin (local mode). */
export const SITE_CONTENT_SECURITY_POLICY = siteContentSecurityPolicy();
