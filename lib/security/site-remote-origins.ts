export interface SiteRemoteOriginsProps {
  readonly region: string;
  /** The jobs bucket, whose presigned image URLs the page fetches. */
  readonly jobsBucketName: string;
  /**
   * The API's exact host (`<id>.execute-api.<region>.amazonaws.com`).
   * @default - any API Gateway host of the region: the API is created after the site (see below)
   */
  readonly apiHost?: string;
}

/**
 * The origins besides its own that the page talks to in AWS, for the site's one
 * Content-Security-Policy (`site/content-security-policy.ts`): the API and the jobs bucket in the
 * deployment's region (images are presigned URLs of that bucket that the page fetches and shows as
 * blobs). The bucket's name is fixed, so its host is always exact.
 *
 * The API's host is exact only when it exists before the site's distribution, that is with a custom
 * domain (`lib/serverless-diffusion.ts`). Without one the gateway needs the distribution's random
 * host for CORS, the distribution's CSP would need the API's random host, and the API's host is
 * left a regional wildcard: a page could then also reach another API Gateway API of the region,
 * which would still have to accept the page's origin by CORS.
 */
export function siteRemoteOrigins(props: SiteRemoteOriginsProps): string[] {
  const { region, jobsBucketName } = props;
  const s3Hosts = [`https://${jobsBucketName}.s3.${region}.amazonaws.com`];
  // SDK v3 presigns virtual-hosted URLs with the regional endpoint, but older us-east-1 URLs lack it.
  if (region === 'us-east-1') s3Hosts.push(`https://${jobsBucketName}.s3.amazonaws.com`);
  return [props.apiHost ? `https://${props.apiHost}` : `https://*.execute-api.${region}.amazonaws.com`, ...s3Hosts];
}
