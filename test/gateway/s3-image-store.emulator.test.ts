import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { S3ImageStore } from '../../lambda/src/images/s3-image-store';
import { IMAGE_URL_SECONDS } from '../../lambda/src/images/image-store';
import { startEmulatedS3, type EmulatedS3 } from '../support/emulators/s3';

/**
 * The S3 image store against an S3-compatible server: its objects are real, and its presigned GET
 * URLs are fetched over HTTP. s3rver enforces a V4 URL's lifetime and access key but not its
 * signature, so "altered" is tested where it can refuse: the lifetime and the credential.
 */
let s3: EmulatedS3;
const BUCKET = 'jobs-bucket';
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4]);

beforeAll(async () => {
  s3 = await startEmulatedS3([BUCKET]);
});
afterAll(async () => {
  await s3.stop();
});

const storeAt = (now: () => Date) => new S3ImageStore(s3.client, BUCKET, 'images/', now);

describe('S3ImageStore against s3rver', () => {
  it('stores the image with its type and cache policy, and its URL serves the same bytes', async () => {
    const store = storeAt(() => new Date());
    await store.put('ref-1/0.png', PNG, 'png');
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: 'images/ref-1/0.png' }));
    expect(head).toMatchObject({ ContentType: 'image/png', CacheControl: `private, max-age=${IMAGE_URL_SECONDS}, immutable` });

    const url = await store.url('ref-1/0.png', 3600);
    expect(new URL(url).searchParams.get('X-Amz-Expires')).toBe(String(IMAGE_URL_SECONDS));
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(PNG);
  });

  it('hands out a URL that is refused once expired, its lifetime capped by the job\'s retention', async () => {
    let now = new Date();
    const store = storeAt(() => now);
    await store.put('ref-2/0.png', PNG, 'png');
    // Signed 16 minutes ago on the gateway's clock: its 15 minutes are over.
    now = new Date(Date.now() - (IMAGE_URL_SECONDS + 60) * 1000);
    const expired = await fetch(await store.url('ref-2/0.png', 3600));
    expect(expired.status).toBe(403);
    expect(await expired.text()).toMatch(/<Code>AccessDenied<\/Code>.*Request has expired/s);
    // Signed 10 s ago with 5 s of retention left: over too, where a 15-minute URL would still work.
    now = new Date(Date.now() - 10_000);
    expect((await fetch(await store.url('ref-2/0.png', 5))).status).toBe(403);
  });

  it('refuses a URL whose credential was altered', async () => {
    // s3rver does not verify V4 signatures, so a stretched X-Amz-Expires would pass here where S3
    // answers SignatureDoesNotMatch; the altered credential is what it can refuse.
    const store = storeAt(() => new Date());
    await store.put('ref-3/0.png', PNG, 'png');
    const altered = new URL(await store.url('ref-3/0.png', 60));
    altered.searchParams.set('X-Amz-Credential', altered.searchParams.get('X-Amz-Credential')!.replace('S3RVER', 'SOMEONE'));
    const refused = await fetch(altered);
    expect(refused.status).toBe(403);
    expect(await refused.text()).toMatch(/InvalidAccessKeyId/);
  });

  it('answers 404 for an image that was never stored', async () => {
    const response = await fetch(await storeAt(() => new Date()).url('no-such-ref/0.png', 60));
    expect(response.status).toBe(404);
  });
});
