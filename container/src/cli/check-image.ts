/**
 * npm run check-image -- --model DIR --image FILE.png [--execution-provider cpu|cuda|auto]
 *
 * Runs a model's safety checker on one picture as diffusers would on a generated image and prints
 * one JSON line, `{"image", "width", "height", "has_nsfw_concept"}`. Exits 0 whichever the decision;
 * 1 when the check cannot run, 2 on a usage mistake.
 */
import { readFile } from 'node:fs/promises';
import sharp, { type OutputInfo } from 'sharp';
import { EXECUTION_PROVIDER_CHOICES, resolveExecutionProviders } from '../engine/onnx/execution-provider';
import { SafetyChecker } from '../engine/safety/safety-checker';
import { findSafetyCheckerFiles } from '../engine/safety/safety-checker-files';
import { FEATURE_EXTRACTOR_CONFIG, SAFETY_CHECKER_MODEL } from '../../../contract/safety';
import { optionalChoice, parseArguments, requireString } from './arguments';
import { runCli, UsageError } from './cli-errors';
import { pathExists } from '../engine/path-exists';

const USAGE = `Usage: npm run check-image -- --model DIR --image FILE
  --model DIR              a model folder with ${SAFETY_CHECKER_MODEL} and ${FEATURE_EXTRACTOR_CONFIG}
  --image FILE             a PNG, JPEG or WebP picture (alpha dropped, as PIL's convert("RGB"))
  --execution-provider P   cpu | cuda | auto (default auto)`;

async function main(argv: string[]): Promise<void> {
  const args = parseArguments(argv, {
    model: { type: 'string' },
    image: { type: 'string' },
    'execution-provider': { type: 'string' },
    help: { type: 'boolean' },
  });
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const modelDir = requireString(args.model, '--model');
  const imageFile = requireString(args.image, '--image');
  const executionProvider = optionalChoice(args['execution-provider'], '--execution-provider', EXECUTION_PROVIDER_CHOICES) ?? 'auto';
  const image = await readPicture(imageFile);
  const files = await findSafetyCheckerFiles(modelDir, undefined, pathExists);
  if (files.model === undefined || files.preprocessorConfig === undefined) {
    const missing = files.model === undefined ? SAFETY_CHECKER_MODEL : FEATURE_EXTRACTOR_CONFIG;
    throw new UsageError(`--model: ${modelDir} has no ${missing}`);
  }
  const checker = await SafetyChecker.load({ model: files.model, preprocessorConfig: files.preprocessorConfig }, { executionProviders: resolveExecutionProviders(executionProvider) });
  try {
    const flagged = await checker.isFlagged({ ...image, seed: 0 });
    process.stdout.write(`${JSON.stringify({ image: imageFile, width: image.width, height: image.height, has_nsfw_concept: flagged })}\n`);
  } finally {
    await checker.release();
  }
}

async function readPicture(file: string) {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (error) {
    throw new UsageError(`--image: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(bytes).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new UsageError(`--image: ${file} is not a picture sharp can read: ${(error as Error).message}`);
  }
  const { data, info } = decoded;
  return { pixels: Float32Array.from(data, (v) => v / 255), width: info.width, height: info.height };
}


runCli('check-image', main);
