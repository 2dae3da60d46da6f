/**
 * The model the deploy ships passes the engine's own folder check (the same `readModelFolder` the
 * container runs at start), and fits where it travels. For `model.s3Uri` the prefix is mirrored
 * into a scratch folder (the small JSON and text files as they are, the weights as empty
 * placeholders) so that the same check reads it without downloading gigabytes.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { GetBucketLocationCommand, GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { readModelFolder, type ModelFolder } from '../../../container/src/engine/model/model-folder';
import { CONFIG_CONTEXT_KEY, DEFAULT_MODEL_PATH } from '../../../lib/config/deployment-config';
import { REPO_ROOT } from '../../../lib/paths';
import { modelFolderFiles } from '../../model/model-folder-files';
import { formatBytes } from '../../model/transfer-progress';
import { callAws, type Check, type CheckOutcome, type PreflightContext } from '../check';

const GiB = 1024 ** 3;

/**
 * Backend modes that bake the model into their container image, with the image's size limit.
 * The planned Lambda backend is one: Lambda container images hold at most 10 GB uncompressed,
 * all layers together (Lambda quotas), the engine's runtime included.
 */
const IMAGE_SIZE_LIMITS: Readonly<Record<string, number>> = { lambda: 10 * GiB };

/**
 * A local model folder reaches S3 through a BucketDeployment that unzips the asset in the Lambda
 * scratch space `lib/constructs/model-data.ts` gives it (10 GiB), archive and files side by side;
 * ONNX weights hardly compress, so the folder must stay under half of it.
 */
const LOCAL_UPLOAD_SCRATCH_BYTES = 10 * GiB;

/** Files read whole when mirroring an S3 model: configuration, tokenizer. */
const MIRRORED_CONTENT = /\.(json|txt)$/;
const MIRRORED_MAX_BYTES = 4 * 1024 * 1024;

export const modelFolder: Check = {
  name: 'model',
  usesAws: false,
  async run(context) {
    return context.config.model.kind === 'local' ? checkLocal(context, context.config.model.path) : checkS3(context, context.config.model.s3Uri);
  },
};

/** The S3 side needs credentials; the local side does not. */
export const modelFolderInS3: Check = { ...modelFolder, usesAws: true };

async function checkLocal(context: PreflightContext, dir: string): Promise<CheckOutcome> {
  const shown = relative(REPO_ROOT, dir) || dir;
  let folder: ModelFolder;
  try {
    folder = await readModelFolder(dir);
  } catch (error) {
    return { status: 'fail', message: `the engine refuses ${shown}: ${(error as Error).message}`, fix: 'point model.localPath at an SD 1.x ONNX export (npm run model -- fetch REPO)' };
  }
  const bytes = (await modelFolderFiles(folder.dir)).reduce((sum, file) => sum + file.size, 0);
  const limit = sizeProblem(context, bytes);
  if (limit) return limit;
  if (bytes * 2 > LOCAL_UPLOAD_SCRATCH_BYTES) {
    return {
      status: 'fail',
      message: `${shown} is ${formatBytes(bytes)}: the deploy's upload unpacks the folder in ${gibibytes(LOCAL_UPLOAD_SCRATCH_BYTES)} of scratch space, beside its archive`,
      fix: `npm run model -- upload ${shown} --bucket BUCKET, then set ${CONFIG_CONTEXT_KEY}.model.s3Uri instead of localPath`,
    };
  }
  if (relative(dir, join(REPO_ROOT, DEFAULT_MODEL_PATH)) === '') {
    return {
      status: 'warn',
      message: `model.localPath is the random-weight test model ${DEFAULT_MODEL_PATH}: the site would draw coloured noise`,
      fix: 'npm run model -- fetch CompVis/stable-diffusion-v1-4@onnx, then set model.localPath (or model.s3Uri) in cdk.json',
    };
  }
  return { status: 'pass', message: `${shown} passes the engine's check: ${describe(folder, bytes)}` };
}

async function checkS3(context: PreflightContext, s3Uri: string): Promise<CheckOutcome> {
  const match = /^s3:\/\/([^/]+)\/(.*)$/.exec(s3Uri)!;
  const [bucket, prefix] = [match[1], match[2]];
  const { region } = context.config;
  const location = await callAws('S3 GetBucketLocation', () => context.aws.s3.send(new GetBucketLocationCommand({ Bucket: bucket })));
  // us-east-1 answers with no constraint; the oldest buckets in eu-west-1 with "EU".
  const bucketRegion = !location.LocationConstraint ? 'us-east-1' : location.LocationConstraint === 'EU' ? 'eu-west-1' : location.LocationConstraint;
  if (bucketRegion !== region) {
    return {
      status: 'fail',
      message: `bucket ${bucket} is in ${bucketRegion}, the deployment in ${region}: SageMaker reads model data from its own region`,
      fix: `npm run model -- upload DIR --bucket A_BUCKET_IN_${region.toUpperCase().replace(/-/g, '_')} --region ${region}`,
    };
  }
  const scratch = await mkdtemp(join(tmpdir(), 'preflight-model-'));
  try {
    const bytes = await mirror(context, bucket, prefix, scratch);
    if (bytes === undefined) {
      return { status: 'fail', message: `${s3Uri} holds no objects`, fix: `npm run model -- upload DIR --bucket ${bucket} --prefix ${prefix || 'PREFIX'}` };
    }
    let folder: ModelFolder;
    try {
      folder = await readModelFolder(scratch);
    } catch (error) {
      const problem = (error as Error).message.replaceAll(scratch, s3Uri.replace(/\/$/, ''));
      return { status: 'fail', message: `the engine would refuse ${s3Uri}: ${problem}`, fix: 'upload a complete SD 1.x ONNX export: npm run model -- upload DIR --bucket B' };
    }
    return sizeProblem(context, bytes) ?? { status: 'pass', message: `${s3Uri} passes the engine's check: ${describe(folder, bytes)}` };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Mirrors the prefix's layout; returns the model's size in bytes, or undefined when it is empty. */
async function mirror(context: PreflightContext, bucket: string, prefix: string, scratch: string): Promise<number | undefined> {
  let bytes = 0;
  let objects = 0;
  let token: string | undefined;
  do {
    const page = await callAws('S3 ListObjectsV2', () =>
      context.aws.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token })),
    );
    for (const object of page.Contents ?? []) {
      const path = (object.Key ?? '').slice(prefix.length);
      if (!path || path.endsWith('/') || path.split('/').includes('..')) continue;
      const size = object.Size ?? 0;
      const target = join(scratch, path);
      await mkdir(dirname(target), { recursive: true });
      const read = MIRRORED_CONTENT.test(path) && size <= MIRRORED_MAX_BYTES;
      await writeFile(target, read ? await objectBytes(context, bucket, object.Key!) : '');
      bytes += size;
      objects += 1;
    }
    token = page.NextContinuationToken;
  } while (token);
  return objects > 0 ? bytes : undefined;
}

async function objectBytes(context: PreflightContext, bucket: string, key: string): Promise<Uint8Array> {
  const object = await callAws('S3 GetObject', () => context.aws.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
  const body = object.Body as { transformToByteArray?: () => Promise<Uint8Array> } & AsyncIterable<Uint8Array>;
  if (typeof body?.transformToByteArray === 'function') return body.transformToByteArray();
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The hook for modes that carry the model inside their image. */
function sizeProblem(context: PreflightContext, bytes: number): CheckOutcome | undefined {
  const limit = IMAGE_SIZE_LIMITS[context.config.backend.mode];
  if (limit === undefined || bytes <= limit) return undefined;
  return {
    status: 'fail',
    message: `the model is ${formatBytes(bytes)}, over the ${gibibytes(limit)} image limit of the ${context.config.backend.mode} backend`,
    fix: 'use an fp16 export, or the async backend',
  };
}

/** The limits are powers of two, as AWS sets them. */
function gibibytes(bytes: number): string {
  return `${Math.round(bytes / GiB)} GiB`;
}

function describe(folder: ModelFolder, bytes: number): string {
  return `${formatBytes(bytes)}${folder.nativeSize ? `, native size ${folder.nativeSize} px` : ''}${folder.vaeEncoderFile ? ', image-to-image capable' : ''}`;
}
