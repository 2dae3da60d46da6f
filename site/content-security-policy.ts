/**
 * The one Content-Security-Policy of the page: nothing inline, nothing eval'd, nothing framed.
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
    ['frame-ancestors', "'none'"],
  ];
  if (options.upgradeInsecureRequests) directives.push(['upgrade-insecure-requests']);
  return directives.map((directive) => directive.join(' ')).join('; ');
}

/** The policy where the API and images share the page's origin (local mode). */
export const SITE_CONTENT_SECURITY_POLICY = siteContentSecurityPolicy();
