/**
 * npm run bench:cpu -- --model DIR — what a full-size SD 1.x pipeline costs on this CPU, the
 * figures the Lambda backend is sized from: one 512×512 4-step LCM-style run (`--scheduler lcm
 * --guidance-scale 1`: one UNet batch of one per step) and one 25-step guided run (the model's
 * own scheduler, guidance 7.5: a batch of two per call). Each case runs in a fresh process so its
 * peak RSS is its own. Prints one JSON line per case, then the Lambda extrapolation.
 *
 * Make a full-size pipeline with random weights (no download) with tools/full-size-model/.
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { StableDiffusionPipeline, type GenerateOptions } from '../src/engine/pipeline';

const CASES: Record<string, GenerateOptions> = {
  lcm_4_steps: { prompt: 'a photo of an astronaut riding a horse on mars', width: 512, height: 512, steps: 4, scheduler: 'lcm', guidanceScale: 1, seed: 1 },
  guided_25_steps: { prompt: 'a photo of an astronaut riding a horse on mars', width: 512, height: 512, steps: 25, guidanceScale: 7.5, seed: 1 },
};
/** Lambda's largest function: 10,240 MB gives 6 vCPUs. x86 list price, us-east-1. */
const LAMBDA = { memoryGb: 10, vcpus: 6, perGbSecondUsd: 0.0000166667, perRequestUsd: 0.2 / 1e6 };

function flag(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

async function runCase(model: string, name: string): Promise<void> {
  const loadStarted = performance.now();
  const pipeline = await StableDiffusionPipeline.load(model, { executionProvider: 'cpu' });
  const loadMs = performance.now() - loadStarted;
  const { unet, vaeDecoder, textEncoder } = pipeline.sessions;
  const result = await pipeline.generate(CASES[name]);
  const perCall = (session: { runMs: number; runCount: number }) => Math.round(session.runMs / Math.max(1, session.runCount));
  process.stdout.write(
    `${JSON.stringify({
      case: name,
      cpus: cpus().length,
      load_ms: Math.round(loadMs),
      total_ms: Math.round(result.timings.totalMs),
      unet_calls: unet.runCount,
      unet_ms_per_call: perCall(unet),
      vae_decode_ms: perCall(vaeDecoder),
      text_encoder_ms_per_call: perCall(textEncoder),
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    })}\n`,
  );
  await pipeline.release();
}

function main(): void {
  const model = flag('model');
  if (!model) {
    process.stderr.write('usage: npm run bench:cpu -- --model DIR [--case lcm_4_steps|guided_25_steps]\n');
    process.exit(2);
  }
  const only = flag('case');
  if (process.env.BENCH_CPU_CHILD === '1') {
    runCase(model, only!).catch((error: Error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    });
    return;
  }
  const names = only ? [only] : Object.keys(CASES);
  for (const name of names) {
    if (!CASES[name]) throw new Error(`unknown case ${name}`);
    const line = execFileSync(process.execPath, [process.argv[1], '--model', model, '--case', name], {
      env: { ...process.env, BENCH_CPU_CHILD: '1' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    process.stdout.write(`${line}\n`);
    const figures = JSON.parse(line) as { total_ms: number; load_ms: number; cpus: number };
    // onnxruntime's CPU kernels scale close to linearly over cores for these convolutions; an estimate, not a measurement.
    const lambdaSeconds = (figures.total_ms / 1000) * (figures.cpus / LAMBDA.vcpus);
    process.stdout.write(
      `${JSON.stringify({
        case: name,
        lambda_estimate: {
          assumption: `linear scaling from ${figures.cpus} to ${LAMBDA.vcpus} vCPUs`,
          seconds: Math.round(lambdaSeconds * 10) / 10,
          usd_per_image: Number((lambdaSeconds * LAMBDA.memoryGb * LAMBDA.perGbSecondUsd + LAMBDA.perRequestUsd).toFixed(5)),
          cold_start_load_seconds: Math.round(((figures.load_ms / 1000) * figures.cpus) / LAMBDA.vcpus),
        },
      })}\n`,
    );
  }
}

main();
