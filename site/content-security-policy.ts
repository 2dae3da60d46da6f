/**
 * The Content-Security-Policy the page is built to run under: nothing inline, nothing eval'd.
 * Images and API calls may go to any https origin because presigned S3 URLs and the API's own
 * domain differ per deployment; everything else stays on the site's origin. The CDN sends it as a
 * header (a `<meta>` tag could not set `frame-ancestors`), and the browser tests enforce it.
 */
export const SITE_CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob: https:",
  "connect-src 'self' https:",
  "font-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');
