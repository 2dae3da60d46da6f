import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as acm from 'aws-cdk-lib/aws-certificatemanager';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { frameOptionsHeader } from '../../site/content-security-policy';
import { AccessLogBucket } from './access-log-bucket';
import { PRIVATE_BUCKET } from './private-bucket';

export interface SiteDomain {
  /** The site's host name, e.g. images.example.com. */
  readonly name: string;
  /** ACM certificate in us-east-1 that covers `name`. */
  readonly certificateArn: string;
  /** Route 53 zone for the alias records. @default - no records; point DNS at the distribution yourself */
  readonly hostedZoneId?: string;
  /** Name of `hostedZoneId`'s zone. @default - required with hostedZoneId */
  readonly hostedZoneName?: string;
}

export interface SiteHostingProps {
  /** Physical name of the site bucket; the site stack uploads into it by this name. */
  readonly bucketName: string;
  /** The Content-Security-Policy header value served with every response. */
  readonly contentSecurityPolicy: string;
  /** Custom host name. @default - the distribution's *.cloudfront.net name */
  readonly domain?: SiteDomain;
  /**
   * Origins of pages that may frame the site; `contentSecurityPolicy` must name them in
   * `frame-ancestors` (`siteContentSecurityPolicy`). With any, X-Frame-Options is not sent.
   * @default - none: X-Frame-Options DENY
   */
  readonly embedOrigins?: readonly string[];
}

/**
 * Private S3 bucket behind CloudFront with origin access control: HTTPS only, security headers on
 * every response, access logs for both.
 */
export class SiteHosting extends Construct {
  public readonly bucket: s3.Bucket;
  public readonly distribution: cloudfront.Distribution;
  /** `https://host`, what browsers send as Origin when the page calls the API. */
  public readonly siteOrigin: string;

  constructor(scope: Construct, id: string, props: SiteHostingProps) {
    super(scope, id);
    const logs = new AccessLogBucket(this, 'Logs', { acceptCloudFrontLogs: true });

    this.bucket = new s3.Bucket(this, 'Bucket', {
      ...PRIVATE_BUCKET,
      bucketName: props.bucketName,
      serverAccessLogsBucket: logs.bucket,
      serverAccessLogsPrefix: 'site-bucket/',
      // The site is rebuilt from source on every deploy; nothing in here needs keeping, and
      // emptying the bucket on delete lets the fixed name be reused.
      removalPolicy: RemovalPolicy.DESTROY,
      autoDeleteObjects: true,
    });

    const frameOptions = frameOptionsHeader(props.embedOrigins);
    const headers = new cloudfront.ResponseHeadersPolicy(this, 'SecurityHeaders', {
      comment: 'Strict CSP and security headers for the static site',
      securityHeadersBehavior: {
        contentSecurityPolicy: { contentSecurityPolicy: props.contentSecurityPolicy, override: true },
        strictTransportSecurity: {
          accessControlMaxAge: Duration.days(730),
          includeSubdomains: true,
          override: true,
        },
        contentTypeOptions: { override: true },
        ...(frameOptions ? { frameOptions: { frameOption: cloudfront.HeadersFrameOption[frameOptions], override: true } } : {}),
        referrerPolicy: { referrerPolicy: cloudfront.HeadersReferrerPolicy.NO_REFERRER, override: true },
      },
      customHeadersBehavior: {
        customHeaders: [
          { header: 'Permissions-Policy', value: 'camera=(), microphone=(), geolocation=(), payment=(), usb=()', override: true },
          { header: 'Cross-Origin-Opener-Policy', value: 'same-origin', override: true },
        ],
      },
    });

    const domain = props.domain;
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'serverless-diffusion site',
      defaultRootObject: 'index.html',
      defaultBehavior: {
        origin: origins.S3BucketOrigin.withOriginAccessControl(this.bucket),
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        responseHeadersPolicy: headers,
        compress: true,
      },
      // North America and Europe edges only: the cheapest class; other visitors are served from there.
      priceClass: cloudfront.PriceClass.PRICE_CLASS_100,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
      enableLogging: true,
      logBucket: logs.bucket,
      logFilePrefix: 'cloudfront/',
      ...(domain
        ? {
            domainNames: [domain.name],
            certificate: acm.Certificate.fromCertificateArn(this, 'Certificate', domain.certificateArn),
            minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
          }
        : {}),
    });

    Validations.of(this.distribution).acknowledge(
      {
        id: 'AwsSolutions-CFR1',
        reason: 'The site is for a worldwide public; geo restriction would only turn visitors away.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'The distribution serves cached static files only. The API, where requests cost money, has its own WAF web ACL; a second ACL would add $5+/month to an idle floor of a few dollars.',
      },
    );
    if (!domain) {
      Validations.of(this.distribution).acknowledge({
        id: 'AwsSolutions-CFR4',
        reason:
          'Without a custom domain CloudFront serves the default *.cloudfront.net certificate, whose TLS policy cannot be chosen; configuring `domain` applies TLSv1.2_2021.',
      });
    }

    if (domain?.hostedZoneId && domain.hostedZoneName) {
      const zone = route53.HostedZone.fromHostedZoneAttributes(this, 'Zone', {
        hostedZoneId: domain.hostedZoneId,
        zoneName: domain.hostedZoneName,
      });
      const target = route53.RecordTarget.fromAlias(new targets.CloudFrontTarget(this.distribution));
      new route53.ARecord(this, 'AliasV4', { zone, recordName: domain.name, target });
      new route53.AaaaRecord(this, 'AliasV6', { zone, recordName: domain.name, target });
    }

    this.siteOrigin = `https://${domain?.name ?? this.distribution.distributionDomainName}`;
  }
}
