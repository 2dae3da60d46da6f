/**
 * npm run bench:engine — 512x512 (64x64 latent) generations on the tiny models on CPU: the 25-step
 * guided default on tiny-sd, split into time inside `session.run` and everything else (the tiny
 * UNet is cheap, so the split shows what the engine itself adds per step; on a real GPU that
 * overhead must stay far below the UNet's own time), beside the 4-step LCM run of tiny-lcm, with
 * the UNet calls each makes and the ratio between them: what an image costs is UNet evaluations.
 * Prints one JSON line (medians over the measured runs).
 */
import { join } from 'node:path';
import { StableDiffusionPipeline, type GenerateOptions } from '../src/engine/pipeline';

// Two levels below the repository root whether run from container/bench or bundled into dist/bench.
const MODELS = join(__dirname, '..', '..', 'test', 'fixtures', 'oracle', 'models');
const MODEL_DIR = process.env.MODEL_DIR ?? join(MODELS, 'tiny-sd');
const LCM_MODEL_DIR = process.env.LCM_MODEL_DIR ?? join(MODELS, 'tiny-lcm');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const EXECUTION_PROVIDER = (process.env.EXECUTION_PROVIDER as 'cpu' | 'cuda' | 'auto') ?? 'cpu';
const prompt = 'a photo of an astronaut riding a horse on mars';
const guided = { prompt, width: 512, height: 512, steps: 25, guidanceScale: 7.5, seed: 1 };
/** The model's own defaults decide the rest: lcm, guidance 8.5 as an embedding, one UNet batch of one. */
const lcm = { prompt, width: 512, height: 512, steps: 4, scheduler: 'lcm', seed: 1 } as const;

type Sample = Record<'total_ms' | 'session_run_ms' | 'denoise_ms' | 'unet_run_ms' | 'unet_calls' | 'unet_batch_items' | 'overhead_ms_per_step' | 'overhead_ms_per_step_p50', number>;

async function measure(pipeline: StableDiffusionPipeline, options: GenerateOptions): Promise<Record<keyof Sample, number>> {
  // A server runs many generations: measure it warm, every scheduler branch compiled by the JIT.
  await pipeline.generate({ ...options, steps: Math.min(6, options.steps ?? 6) });
  const samples: Sample[] = [];
  const { unet } = pipeline.sessions;
  for (let run = 0; run < RUNS; run++) {
    const sessions = Object.values(pipeline.sessions);
    const before = sessions.map((session) => session.runMs);
    const [unetBefore, callsBefore] = [unet.runMs, unet.runCount];
    let batchItems = 0;
    const original = unet.run.bind(unet);
    unet.run = (feeds, outputs) => {
      batchItems += (feeds.sample as { dims: readonly number[] }).dims[0];
      return original(feeds, outputs);
    };
    // Per-step gaps too: the mean folds in the odd garbage-collection pause, the median shows the steady state.
    const stepGaps: number[] = [];
    let stepStarted = performance.now();
    let unetAtStepStart = unetBefore;
    let steps = 0;
    const result = await pipeline.generate({
      ...options,
      onStep: () => {
        const now = performance.now();
        stepGaps.push(now - stepStarted - (unet.runMs - unetAtStepStart));
        stepStarted = now;
        unetAtStepStart = unet.runMs;
        steps += 1;
      },
    });
    unet.run = original;
    const unetRunMs = unet.runMs - unetBefore;
    samples.push({
      total_ms: result.timings.totalMs,
      session_run_ms: sessions.reduce((sum, session, i) => sum + session.runMs - before[i], 0),
      denoise_ms: result.timings.denoiseMs,
      unet_run_ms: unetRunMs,
      unet_calls: unet.runCount - callsBefore,
      unet_batch_items: batchItems,
      overhead_ms_per_step: (result.timings.denoiseMs - unetRunMs) / steps,
      overhead_ms_per_step_p50: stepGaps.sort((a, b) => a - b)[Math.floor(stepGaps.length / 2)],
    });
  }
  const median = (key: keyof Sample) => {
    const sorted = samples.map((sample) => sample[key]).sort((a, b) => a - b);
    return Math.round(sorted[Math.floor(sorted.length / 2)] * 1000) / 1000;
  };
  return Object.fromEntries((Object.keys(samples[0]) as Array<keyof Sample>).map((key) => [key, median(key)])) as Record<keyof Sample, number>;
}

async function main(): Promise<void> {
  const pipeline = await StableDiffusionPipeline.load(MODEL_DIR, { executionProvider: EXECUTION_PROVIDER });
  const guidedRun = await measure(pipeline, guided);
  await pipeline.release();
  const lcmPipeline = await StableDiffusionPipeline.load(LCM_MODEL_DIR, { executionProvider: EXECUTION_PROVIDER });
  const lcmRun = await measure(lcmPipeline, lcm);
  await lcmPipeline.release();
  const ratio = (key: keyof Sample) => Math.round((guidedRun[key] / lcmRun[key]) * 100) / 100;
  process.stdout.write(
    `${JSON.stringify({
      bench: 'engine',
      model: MODEL_DIR,
      execution_provider: pipeline.executionProvider,
      width: guided.width,
      height: guided.height,
      steps: guided.steps,
      guidance_scale: guided.guidanceScale,
      runs: RUNS,
      ...guidedRun,
      lcm: { model: LCM_MODEL_DIR, scheduler: lcm.scheduler, steps: lcm.steps, guidance_scale: lcmPipeline.defaults.guidanceScale, ...lcmRun },
      guided_over_lcm: { unet_calls: ratio('unet_calls'), unet_batch_items: ratio('unet_batch_items'), total_ms: ratio('total_ms') },
    })}\n`,
  );
}

main().catch((error: Error) => {
  process.stderr.write(`bench:engine failed: ${error.message}\n`);
  process.exit(1);
});
