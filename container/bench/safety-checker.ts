/**
 * npm run bench:safety -- --model DIR [--images N] [--size S] [--threads T] — what the safety checker costs per
 * image on this CPU, the figure the Lambda timeout and `npm run cost` add per image when
 * `safety.checker` is `model`. DIR is a folder with `safety_checker/` and `feature_extractor/`
 * (build the full-size one, CLIP ViT-L/14 vision with random weights, with tools/full-size-model
 * `--parts safety_checker`). Times load, then N checks of an S×S image as the pipeline runs them
 * (preprocessing included), with CPU time beside wall time; prints one JSON line.
 */
import { access } from 'node:fs/promises';
import { cpus } from 'node:os';
import { resolveExecutionProviders } from '../src/engine/onnx/execution-provider';
import { SafetyChecker } from '../src/engine/safety/safety-checker';
import { findSafetyCheckerFiles } from '../src/engine/safety/safety-checker-files';

function flag(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function main(): Promise<void> {
  const model = flag('model', '');
  const images = Number(flag('images', '5'));
  const size = Number(flag('size', '512'));
  if (!model || !Number.isInteger(images) || images < 1 || !Number.isInteger(size) || size < 8) {
    process.stderr.write('usage: npm run bench:safety -- --model DIR [--images N] [--size S]\n');
    process.exit(2);
  }
  const files = await findSafetyCheckerFiles(model, undefined, exists);
  if (files.model === undefined || files.preprocessorConfig === undefined) throw new Error(`${model} has no safety_checker/model.onnx with feature_extractor/preprocessor_config.json`);
  const loadStarted = performance.now();
  const checker = await SafetyChecker.load({ model: files.model, preprocessorConfig: files.preprocessorConfig }, { executionProviders: resolveExecutionProviders('cpu'), ...(flag('threads', '') ? { threads: Number(flag('threads', '')) } : {}) });
  const loadMs = performance.now() - loadStarted;
  // Smooth noise-free pixels: the checker's cost does not depend on what the picture shows.
  const pixels = Float32Array.from({ length: size * size * 3 }, (_, i) => ((i * 7919) % 256) / 255);
  const image = { pixels, width: size, height: size, seed: 0 };
  await checker.isFlagged(image); // first run: onnxruntime's lazy initialisation, not counted
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < images; i++) {
    const before = process.cpuUsage();
    const started = performance.now();
    await checker.isFlagged(image);
    wall.push(performance.now() - started);
    const used = process.cpuUsage(before);
    cpu.push((used.user + used.system) / 1000);
  }
  await checker.release();
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const line = {
    model,
    image: `${size}x${size}`,
    images,
    load_ms: Math.round(loadMs),
    median_wall_ms_per_image: Math.round(median(wall)),
    median_cpu_ms_per_image: Math.round(median(cpu)),
    cores_used: Number((median(cpu) / median(wall)).toFixed(2)),
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    machine_cpus: cpus().length,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`bench:safety failed: ${error.message}\n`);
  process.exit(1);
});
