/**
 * npm run model -- fetch REPO[@REVISION] [--out DIR] [--without-safety-checker | --with-safety-checker] [--tiny-vae REPO2[@REVISION]]
 * npm run model -- upload DIR --bucket BUCKET [--prefix PREFIX] [--region REGION]
 * npm run model -- fuse-lora MODEL_DIR --lora FILE[:SCALE] [--lora ...] --out DIR [--allow-partial] [--defaults lcm|hyper-sd]
 * npm run model -- externalize DIR
 */
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { S3Client } from '@aws-sdk/client-s3';
import { runCli, UsageError } from '../../container/src/cli/cli-errors';
import { REPO_ROOT } from '../../lib/paths';
import { fetchModel } from './fetch-model';
import { fetchTinyVae } from './fetch-tiny-vae';
import { hubAccessFromEnvironment, parseHubSource, type HubSource } from './hub-source';
import { TransferProgress } from './transfer-progress';
import { uploadModel } from './upload-model';
import { externalizeModelFolder } from './externalize-weights';
import { DEFAULTS_PRESETS, fuseLora, type DefaultsPreset } from './lora/fuse-lora';
import { parseLoraSpec, resolveLora } from './lora/lora-source';

const USAGE = `Usage:
  npm run model -- fetch REPO[@REVISION] [--out DIR] [--without-safety-checker] [--tiny-vae REPO2[@REVISION]]
      Downloads an SD 1.x ONNX export from the Hugging Face Hub: only the files the engine reads,
      each verified against the Hub's checksums; a rerun continues where a broken one stopped.
      REPO@REVISION   e.g. CompVis/stable-diffusion-v1-4@onnx, SimianLuo/LCM_Dreamshaper_v7
      --out DIR       default .local/models/<owner>--<name>[--<revision>]
      The safety checker (safety_checker/, feature_extractor/) comes along when model_index.json
      requires one (requires_safety_checker), as for CompVis/stable-diffusion-v1-4:
      --without-safety-checker   skip it (the engine then warns that there is no content filter)
      --with-safety-checker      take it even where the model does not require it
      --tiny-vae REPO2  also take a tiny VAE (TAESD) decoder, e.g. deinferno/taesd-onnx, into DIR/taesd/:
                      fast CPU decodes (backend.decoder) and live previews
      Environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (gated or private models)

  npm run model -- upload DIR --bucket BUCKET [--prefix PREFIX] [--region REGION]
      Uploads a model folder uncompressed to S3 with SHA-256 checksums, skipping files already
      there with the same checksum, and prints the model.s3Uri for cdk.json.
      --prefix PREFIX  default models/<folder name>
      --region REGION  the bucket's region (default: AWS_REGION or the AWS profile's)

  npm run model -- fuse-lora MODEL_DIR --lora FILE[:SCALE] [--lora FILE2[:SCALE2] ...] --out DIR
      Fuses LoRA files (safetensors; kohya or diffusers/peft keys; UNet and text encoder) into the
      ONNX weights, as diffusers' fuse_lora does, and writes a new model folder; MODEL_DIR is not
      touched. The folder's lora.json records the sources, their SHA-256 and the scales.
      FILE            a .safetensors file, or owner/name/path.safetensors[@REVISION] on the Hub
      SCALE           default 1
      --out DIR       must not exist yet
      --allow-partial fuse what maps to the model and skip the rest (default: refuse the file)
      --defaults lcm|hyper-sd   write generation_defaults.json for the LoRA's few-step settings
                      (lcm: LCM, 4 steps, guidance 1; hyper-sd: DDIM with trailing spacing, the
                      steps in the file name (or --steps), guidance 0)
      --steps N       steps for --defaults hyper-sd

  npm run model -- externalize DIR
      Moves the weights each part keeps inside its model.onnx into model.onnx_data beside it, as
      the UNet's are: the same values, loaded many times faster (SD 1.5's text encoder: 0.15 s
      instead of 3.3 s), which shortens every cold start. Run it after fetch and before upload; a
      later fetch into DIR downloads the rewritten files again.`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (command === 'fetch') return fetchCommand(rest);
  if (command === 'upload') return uploadCommand(rest);
  if (command === 'fuse-lora') return fuseLoraCommand(rest);
  if (command === 'externalize') return externalizeCommand(rest);
  throw new UsageError(`the command must be fetch, upload, fuse-lora or externalize but is ${JSON.stringify(command)}`);
}

async function fetchCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    out: { type: 'string' },
    'with-safety-checker': { type: 'boolean' },
    'without-safety-checker': { type: 'boolean' },
    'tiny-vae': { type: 'string' },
  });
  if (values['with-safety-checker'] && values['without-safety-checker']) throw new UsageError('--with-safety-checker and --without-safety-checker contradict each other');
  const source = parseHubSource(onePositional(positionals, 'REPO[@REVISION]'));
  const tinyVaeSource = values['tiny-vae'] === undefined ? undefined : parseHubSource(values['tiny-vae']);
  const access = hubAccessFromEnvironment();
  const outDir = resolve(values.out ?? defaultOutDir(source));
  const result = await fetchModel({
    source,
    access,
    outDir,
    safetyChecker: values['without-safety-checker'] ? 'never' : values['with-safety-checker'] ? 'always' : 'required',
    progress: (total) => new TransferProgress(process.stderr, total),
  });
  const tinyVae =
    tinyVaeSource && (await fetchTinyVae({ source: tinyVaeSource, access, modelDir: outDir, progress: (total) => new TransferProgress(process.stderr, total) }));
  const shown = relative(REPO_ROOT, outDir).startsWith('..') ? outDir : relative(REPO_ROOT, outDir);
  process.stdout.write(
    [
      `${source.repo}@${source.revision}: ${result.files.length} files in ${outDir} ` +
        `(${result.outcomes.downloaded} downloaded, ${result.outcomes.resumed} resumed, ${result.outcomes.unchanged} already here)`,
      `safety checker: ${result.safetyChecker.taken ? 'taken' : result.safetyChecker.required ? 'NOT taken, though the model requires one (no content filter)' : 'none (the model does not require one)'}`,
      ...(tinyVae && tinyVaeSource ? [`${tinyVaeSource.repo}@${tinyVaeSource.revision}: tiny VAE decoder in ${tinyVae.folder.dir}`] : []),
      `model.localPath: ${shown}`,
      `Deploy it as it is with that model.localPath in cdk.json, or upload it first (best for multi-GB models):`,
      `  npm run model -- upload ${shown} --bucket BUCKET`,
    ].join('\n') + '\n',
  );
}

async function uploadCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, { bucket: { type: 'string' }, prefix: { type: 'string' }, region: { type: 'string' } });
  const dir = resolve(onePositional(positionals, 'DIR'));
  if (!values.bucket) throw new UsageError('--bucket is required');
  const s3 = new S3Client({ region: values.region, followRegionRedirects: true });
  const result = await uploadModel({ dir, bucket: values.bucket, prefix: values.prefix, s3, progress: (total) => new TransferProgress(process.stderr, total) });
  process.stdout.write(
    [
      `model.s3Uri: ${result.s3Uri}`,
      `In cdk.json, under serverlessDiffusion: "model": { "s3Uri": "${result.s3Uri}" } (and no localPath); the bucket must be in the deployment's region.`,
    ].join('\n') + '\n',
  );
}

async function fuseLoraCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parse(argv, {
    lora: { type: 'string', multiple: true },
    out: { type: 'string' },
    'allow-partial': { type: 'boolean' },
    defaults: { type: 'string' },
    steps: { type: 'string' },
  });
  const modelDir = resolve(onePositional(positionals, 'MODEL_DIR'));
  if (!values.out) throw new UsageError('--out DIR is required');
  if (!values.lora || values.lora.length === 0) throw new UsageError('at least one --lora FILE[:SCALE] is required');
  const defaults = values.defaults;
  if (defaults !== undefined && !(DEFAULTS_PRESETS as readonly string[]).includes(defaults)) {
    throw new UsageError(`--defaults must be ${DEFAULTS_PRESETS.join(' or ')} but is ${JSON.stringify(defaults)}`);
  }
  const steps = values.steps === undefined ? undefined : Number(values.steps);
  if (steps !== undefined && !(Number.isInteger(steps) && steps >= 1)) throw new UsageError(`--steps must be a positive integer but is ${JSON.stringify(values.steps)}`);
  const access = hubAccessFromEnvironment();
  const loras = [];
  for (const text of values.lora) {
    loras.push(
      await resolveLora(parseLoraSpec(text), {
        access,
        cacheDir: resolve(REPO_ROOT, '.local', 'loras'),
        progress: (total) => new TransferProgress(process.stderr, total),
      }),
    );
  }
  const outDir = resolve(values.out);
  const result = await fuseLora({
    modelDir,
    loras,
    outDir,
    allowPartial: values['allow-partial'] === true,
    defaults: defaults as DefaultsPreset | undefined,
    defaultSteps: steps,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const shown = relative(REPO_ROOT, outDir).startsWith('..') ? outDir : relative(REPO_ROOT, outDir);
  const fused = result.coverage.map((c) => `${c.part} ${c.fused}/${c.modules}`).join(', ');
  process.stdout.write(`${outDir}: ${loras.length} LoRA fused (${fused} modules)\nmodel.localPath: ${shown}\n`);
}

async function externalizeCommand(argv: string[]): Promise<void> {
  const { positionals } = parse(argv, {});
  const modelDir = resolve(onePositional(positionals, 'model folder'));
  const results = await externalizeModelFolder(modelDir, { log: (line) => process.stdout.write(`${line}\n`) });
  const bytes = results.reduce((sum, result) => sum + result.bytes, 0);
  process.stdout.write(`${modelDir}: ${(bytes / 1e6).toFixed(1)} MB of weights now external\n`);
}

function parse<T extends NonNullable<Parameters<typeof parseArgs>[0]>['options']>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean' } }, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
}

function onePositional(positionals: string[], name: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected one ${name} but got ${positionals.length === 0 ? 'none' : positionals.join(' ')}`);
  return positionals[0];
}

function defaultOutDir(source: HubSource): string {
  const name = source.repo.replace('/', '--') + (source.revision === 'main' ? '' : `--${source.revision.replace(/[^\w.-]+/g, '-')}`);
  return resolve(REPO_ROOT, '.local', 'models', name);
}

runCli('model', main);
