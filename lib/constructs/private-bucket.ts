import * as s3 from 'aws-cdk-lib/aws-s3';

/**
 * What every bucket of this kit has: no public access, TLS only, S3-managed encryption, and ACLs
 * off. Spread it first so a bucket states only what makes it different.
 */
export const PRIVATE_BUCKET = {
  blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
  enforceSSL: true,
  encryption: s3.BucketEncryption.S3_MANAGED,
  objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
} as const satisfies s3.BucketProps;
