import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { OutputFormat } from '../../../contract/limits';
import type { Clock } from '../clock';
import { IMAGE_URL_SECONDS, imageUrlSeconds, mimeType, type ImageStore } from './image-store';

/** Images in the jobs bucket under the gateway's image prefix, handed out as presigned GET URLs. */
export class S3ImageStore implements ImageStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly prefix: string,
    /** The gateway's clock: a URL lives from the moment the gateway judges the job by, not the host's. */
    private readonly now: Clock,
  ) {}

  async put(key: string, bytes: Uint8Array, format: OutputFormat): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: this.prefix + key,
        Body: bytes,
        ContentType: mimeType(format),
        // Immutable once written; the browser may keep it for as long as the URL lives.
        CacheControl: `private, max-age=${IMAGE_URL_SECONDS}, immutable`,
      }),
    );
  }

  async url(key: string, maxSeconds: number): Promise<string> {
    return getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }), {
      expiresIn: imageUrlSeconds(maxSeconds),
      signingDate: this.now(),
    });
  }
}
