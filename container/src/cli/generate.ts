/**
 * npm run generate -- [--model DIR] --prompt TEXT [--negative-prompt TEXT] [--scheduler NAME]
 *   [--steps N] [--guidance-scale G] [--width W] [--height H] [--seed S] [--num-images K]
 *   [--init-image FILE [--strength S] [--encoder-noise FILE]]
 *   [--initial-noise FILE] [--step-noise FILE] [--out FILE.png] [--raw-out FILE] [--execution-provider cpu|cuda|auto]
 *   [--safety-checker model|off] [--threads N] [--tiny-vae TAESD_DIR] [--decoder full|tiny|auto]
 */
import { readFile, writeFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { DECODER_CHOICES } from '../../../contract/decoder';
import { DEFAULTS, LIMITS, OUTPUT_FORMATS, SCHEDULER_NAMES, type OutputFormat } from '../../../contract/limits';
import { MAX_ENGINE_THREADS } from '../../../contract/engine-threads';
import { DEFAULT_SAFETY_CHECKER, isWithheld, SAFETY_CHECKER_SETTINGS } from '../../../contract/safety';
import { inBatchOrder } from '../engine/safety/batch-order';
import { openInitImage } from '../engine/init-image';
import { EXECUTION_PROVIDER_CHOICES } from '../engine/onnx/execution-provider';
import { InvalidGenerationInputError, StableDiffusionPipeline, type GenerateOptions } from '../engine/pipeline';
import { encodeImage } from '../engine/image-encoding';
import { optionalChoice, optionalInteger, optionalNumber, parseArguments, requireString } from './arguments';
import { runCli, UsageError } from './cli-errors';
import { DEMO_MODEL_DIR } from './default-model';
import { ProgressReporter } from './progress';

const USAGE = `Usage: npm run generate -- [--model DIR] --prompt TEXT [options]
  --model DIR              an SD 1.x ONNX export (default: the bundled demo model, models/shapes-demo)
  --negative-prompt TEXT   what to steer away from
  --scheduler NAME         ${SCHEDULER_NAMES.join(' | ')} (default: the model's own)
  --steps N                denoising steps (default: the model's; 25, or 4 for LCM models)
  --guidance-scale G       classifier-free guidance; <= 1 turns it off (default: the model's; 7.5,
                           8.5 for LCM-distilled models, which take it as an embedding)
  --width W --height H     multiples of 8 (default: the init image's size, else the model's native size)
  --seed S                 0..${LIMITS.seedMax}; image i uses S+i (default: random, printed)
  --num-images K           images in one batch (default 1)
  --init-image FILE        image-to-image: start from this PNG, JPEG or WebP (resized by cover, lanczos3)
  --strength S             with --init-image: 0 < S <= 1, how far the picture is noised (default ${DEFAULTS.strength})
  --encoder-noise FILE     with --init-image: raw little-endian float32 [K,4,H/8,W/8] noise sampling the VAE encoder
  --initial-noise FILE     raw little-endian float32 [K,4,H/8,W/8] unit-variance noise: the starting latents,
                           or with --init-image the noise mixed into the picture at the first timestep
  --step-noise FILE        raw little-endian float32 noise for schedulers that draw every step
                           (euler_ancestral, lcm), [steps,K,4,H/8,W/8]
  --out FILE               .png, .jpg/.jpeg or .webp (default image.png); K > 1 writes FILE-1, FILE-2, ...
  --raw-out FILE           the first image as raw float32 HWC in [0,1]
  --execution-provider P   cpu | cuda | auto (default auto)
  --safety-checker S       model | off (default model: the model's own checker, where its folder has one;
                           a flagged image is printed as "withheld": "safety" and no file is written)
  --threads N              onnxruntime's intra-op threads (default: every CPU this machine gives)
  --tiny-vae DIR           a tiny VAE (TAESD) in the Hub layout (DIR/vae_decoder/model.onnx); decodes with it
                           (default: taesd/ inside or beside the model, used by --decoder auto on a CPU)
  --decoder D              full | tiny | auto (default: tiny with --tiny-vae, else auto)`;

async function main(argv: string[]): Promise<void> {
  const args = parseArguments(argv, {
    model: { type: 'string' },
    prompt: { type: 'string' },
    'negative-prompt': { type: 'string' },
    scheduler: { type: 'string' },
    steps: { type: 'string' },
    'guidance-scale': { type: 'string' },
    width: { type: 'string' },
    height: { type: 'string' },
    seed: { type: 'string' },
    'num-images': { type: 'string' },
    'initial-noise': { type: 'string' },
    'step-noise': { type: 'string' },
    'init-image': { type: 'string' },
    strength: { type: 'string' },
    'encoder-noise': { type: 'string' },
    out: { type: 'string' },
    'raw-out': { type: 'string' },
    'execution-provider': { type: 'string' },
    'safety-checker': { type: 'string' },
    threads: { type: 'string' },
    'tiny-vae': { type: 'string' },
    decoder: { type: 'string' },
    help: { type: 'boolean' },
  });
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const modelDir = args.model ?? DEMO_MODEL_DIR;
  const prompt = requireString(args.prompt, '--prompt');
  const out = args.out ?? 'image.png';
  const format = formatForFile(out);
  const initImage = await readInitImage(args['init-image']);
  for (const flag of ['strength', 'encoder-noise'] as const) {
    if (args[flag] !== undefined && initImage === undefined) throw new UsageError(`--${flag} needs --init-image`);
  }
  const options: GenerateOptions = {
    prompt,
    negativePrompt: args['negative-prompt'],
    scheduler: optionalChoice(args.scheduler, '--scheduler', SCHEDULER_NAMES),
    steps: optionalInteger(args.steps, '--steps', 1, 1000),
    guidanceScale: optionalNumber(args['guidance-scale'], '--guidance-scale', 0, 100),
    width: optionalMultipleOf8(args.width, '--width'),
    height: optionalMultipleOf8(args.height, '--height'),
    seed: optionalInteger(args.seed, '--seed', LIMITS.seedMin, LIMITS.seedMax),
    numImages: optionalInteger(args['num-images'], '--num-images', 1, 64),
    initImage,
    strength: strengthFlag(args.strength),
    initialNoise: args['initial-noise'] ? await readFloat32File(args['initial-noise'], '--initial-noise') : undefined,
    encoderNoise: args['encoder-noise'] ? await readFloat32File(args['encoder-noise'], '--encoder-noise') : undefined,
    stepNoise: args['step-noise'] ? await readFloat32File(args['step-noise'], '--step-noise') : undefined,
  };
  const executionProvider = optionalChoice(args['execution-provider'], '--execution-provider', EXECUTION_PROVIDER_CHOICES) ?? 'auto';
  const safetyChecker = optionalChoice(args['safety-checker'], '--safety-checker', SAFETY_CHECKER_SETTINGS) ?? DEFAULT_SAFETY_CHECKER;
  const threads = optionalInteger(args.threads, '--threads', 1, MAX_ENGINE_THREADS);
  const tinyVaeDir = args['tiny-vae'] === undefined ? undefined : requireString(args['tiny-vae'], '--tiny-vae');
  const decoder = optionalChoice(args.decoder, '--decoder', DECODER_CHOICES) ?? (tinyVaeDir === undefined ? 'auto' : 'tiny');

  const progress = new ProgressReporter(process.stderr);
  progress.note(`loading ${modelDir} (${executionProvider})`);
  const pipeline = await StableDiffusionPipeline.load(modelDir, { executionProvider, safetyChecker, threads, decoder, tinyVaeDir });
  try {
    progress.note(`loaded on ${pipeline.executionProvider}, ${pipeline.decoder} VAE decoder${pipeline.safetyFilter.active ? ', with its safety checker' : ''}`);
    if (pipeline.safetyFilter.warning) progress.note(`warning: ${pipeline.safetyFilter.warning}`);
    const result = await pipeline.generate({ ...options, onStep: (step) => progress.step(step.step, step.totalSteps) }).catch((error: unknown) => {
      // What the model refuses of a request is a bad flag value, like a bad --steps.
      const flag = error instanceof InvalidGenerationInputError ? FLAG_FOR_FIELD[error.field] : undefined;
      throw flag === undefined ? error : new UsageError(`${flag}: ${(error as Error).message}`);
    });
    const withheld = result.withheld.length > 0 ? `, ${result.withheld.length} withheld by the safety checker` : '';
    progress.done(`generated ${result.parameters.numImages} image(s) in ${(result.timings.totalMs / 1000).toFixed(2)} s${withheld}`);
    // Files are numbered by place in the batch, so FILE-2 is always seed + 1 whether or not FILE-1 was withheld.
    const batch = inBatchOrder(result);
    const files = batch.map((_, i) => (batch.length === 1 ? out : numbered(out, i + 1)));
    await Promise.all(batch.map(async (image, i) => (isWithheld(image) ? undefined : writeFile(files[i], await encodeImage(image, format)))));
    if (args['raw-out']) {
      const first = result.images[0];
      if (first === undefined) progress.note(`--raw-out: no image was returned, ${args['raw-out']} not written`);
      else await writeFile(args['raw-out'], Buffer.from(first.pixels.buffer, first.pixels.byteOffset, first.pixels.byteLength));
    }
    const { parameters } = result;
    for (const [i, image] of batch.entries()) {
      const settings = { width: parameters.width, height: parameters.height, scheduler: parameters.scheduler, steps: parameters.steps };
      const line = isWithheld(image) ? { seed: image.seed, withheld: image.withheld, ...settings } : { file: files[i], seed: image.seed, ...settings };
      process.stdout.write(`${JSON.stringify(parameters.strength === undefined ? line : { ...line, strength: parameters.strength })}\n`);
    }
  } finally {
    await pipeline.release();
  }
}

/** The engine's request fields and the flags that set them; noise files of the wrong size stay runtime errors. */
const FLAG_FOR_FIELD: Readonly<Record<string, string>> = {
  prompt: '--prompt',
  negative_prompt: '--negative-prompt',
  steps: '--steps',
  guidance_scale: '--guidance-scale',
  width: '--width',
  height: '--height',
  seed: '--seed',
  num_images: '--num-images',
  init_image: '--init-image',
  strength: '--strength',
};

/** Read and checked (format, pixel count) before the model loads, so a bad file fails at once. */
async function readInitImage(file: string | undefined): Promise<Buffer | undefined> {
  if (file === undefined) return undefined;
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new UsageError(`--init-image: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    await openInitImage(bytes);
  } catch (error) {
    if (error instanceof InvalidGenerationInputError) throw new UsageError(`--init-image: ${file}: ${error.message}`);
    throw error;
  }
  return bytes;
}

function strengthFlag(value: string | undefined): number | undefined {
  const strength = optionalNumber(value, '--strength', LIMITS.strengthMin, LIMITS.strengthMax);
  if (strength === LIMITS.strengthMin) throw new UsageError(`--strength must be greater than ${LIMITS.strengthMin} and at most ${LIMITS.strengthMax} but is ${strength}`);
  return strength;
}

function optionalMultipleOf8(value: string | undefined, flag: string): number | undefined {
  const parsed = optionalInteger(value, flag, 8, 4096);
  if (parsed !== undefined && parsed % 8 !== 0) throw new UsageError(`${flag} must be a multiple of 8 but is ${parsed}`);
  return parsed;
}

function formatForFile(file: string): OutputFormat {
  const extension = extname(file).toLowerCase().slice(1);
  const format = extension === 'jpg' ? 'jpeg' : extension;
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    throw new UsageError(`--out must end in .png, .jpg, .jpeg or .webp but is ${JSON.stringify(file)}`);
  }
  return format as OutputFormat;
}

function numbered(file: string, index: number): string {
  const extension = extname(file);
  return `${file.slice(0, file.length - extension.length)}-${index}${extension}`;
}

async function readFloat32File(file: string, flag: string): Promise<Float32Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new UsageError(`${flag}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  if (bytes.length % 4 !== 0) throw new UsageError(`${flag}: ${file} has ${bytes.length} bytes, not a whole number of float32 values`);
  // Copy into an aligned buffer; little-endian is the host order on every platform we run on.
  const values = new Float32Array(bytes.length / 4);
  new Uint8Array(values.buffer).set(bytes);
  return values;
}

runCli('generate', main);
