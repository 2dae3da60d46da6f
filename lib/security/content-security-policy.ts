/**
 * The site's Content-Security-Policy. Scripts and styles come only from the site itself (the build
 * emits no inline code), nothing may frame the page, and the page may talk only to its own origin,
 * to API Gateway and to S3 in the deployment's region: the API answers from execute-api, and image
 * URLs are presigned S3 URLs of the jobs bucket that the page fetches and shows as blobs.
 *
 * The API and bucket host names are wildcards because the site stack is deployed first: the
 * gateway needs the site's origin for CORS, so the site cannot know the API's random host yet.
 */
export function siteContentSecurityPolicy(region: string): string {
  const s3Hosts = [`https://*.s3.${region}.amazonaws.com`];
  // SDK v3 presigns virtual-hosted URLs with the regional endpoint, but older us-east-1 URLs lack it.
  if (region === 'us-east-1') s3Hosts.push('https://*.s3.amazonaws.com');
  const directives: Record<string, readonly string[]> = {
    'default-src': ["'none'"],
    'script-src': ["'self'"],
    'style-src': ["'self'"],
    'img-src': ["'self'", 'data:', 'blob:', ...s3Hosts],
    'font-src': ["'self'"],
    'manifest-src': ["'self'"],
    'connect-src': ["'self'", `https://*.execute-api.${region}.amazonaws.com`, ...s3Hosts],
    'base-uri': ["'none'"],
    'form-action': ["'none'"],
    'frame-ancestors': ["'none'"],
    'object-src': ["'none'"],
    'upgrade-insecure-requests': [],
  };
  return Object.entries(directives)
    .map(([name, sources]) => [name, ...sources].join(' '))
    .join('; ');
}
