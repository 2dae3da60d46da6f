/**
 * The origins besides its own that the page talks to in AWS, for the site's one
 * Content-Security-Policy (`site/content-security-policy.ts`): API Gateway and S3 in the
 * deployment's region (the API answers from execute-api; images are presigned URLs of the jobs
 * bucket that the page fetches and shows as blobs).
 *
 * The API and bucket host names are wildcards because the site stack is deployed first: the
 * gateway needs the site's origin for CORS, so the site cannot know the API's random host yet.
 */
export function siteRemoteOrigins(region: string): string[] {
  const s3Hosts = [`https://*.s3.${region}.amazonaws.com`];
  // SDK v3 presigns virtual-hosted URLs with the regional endpoint, but older us-east-1 URLs lack it.
  if (region === 'us-east-1') s3Hosts.push('https://*.s3.amazonaws.com');
  return [`https://*.execute-api.${region}.amazonaws.com`, ...s3Hosts];
}
