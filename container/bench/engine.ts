/**
 * npm run bench:engine — one 512x512 (64x64 latent) generation on the tiny model on CPU, split into
 * time inside `session.run` and everything else. The tiny UNet is cheap, so the split shows what the
 * engine itself adds per step; on a real GPU that overhead must stay far below the UNet's own time.
 * Prints one JSON line (medians over the measured runs).
 */
import { join } from 'node:path';
import { StableDiffusionPipeline } from '../src/engine/pipeline';

// Two levels below the repository root whether run from container/bench or bundled into dist/bench.
const MODEL_DIR = process.env.MODEL_DIR ?? join(__dirname, '..', '..', 'test', 'fixtures', 'oracle', 'models', 'tiny-sd');
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const options = { prompt: 'a photo of an astronaut riding a horse on mars', width: 512, height: 512, steps: 25, guidanceScale: 7.5, seed: 1 };

async function main(): Promise<void> {
  const pipeline = await StableDiffusionPipeline.load(MODEL_DIR, { executionProvider: (process.env.EXECUTION_PROVIDER as 'cpu' | 'cuda' | 'auto') ?? 'cpu' });
  // A server runs many generations: measure it warm, every scheduler branch compiled by the JIT.
  await pipeline.generate({ ...options, steps: 6 });
  const samples: Array<Record<'total_ms' | 'session_run_ms' | 'denoise_ms' | 'unet_run_ms' | 'overhead_ms_per_step' | 'overhead_ms_per_step_p50', number>> = [];
  for (let run = 0; run < RUNS; run++) {
    const sessions = Object.values(pipeline.sessions);
    const before = sessions.map((session) => session.runMs);
    const unetBefore = pipeline.sessions.unet.runMs;
    // Per-step gaps too: the mean folds in the odd garbage-collection pause, the median shows the steady state.
    const stepGaps: number[] = [];
    let stepStarted = performance.now();
    let unetAtStepStart = unetBefore;
    const result = await pipeline.generate({
      ...options,
      onStep: () => {
        const now = performance.now();
        stepGaps.push(now - stepStarted - (pipeline.sessions.unet.runMs - unetAtStepStart));
        stepStarted = now;
        unetAtStepStart = pipeline.sessions.unet.runMs;
      },
    });
    const sessionRunMs = sessions.reduce((sum, session, i) => sum + session.runMs - before[i], 0);
    const unetRunMs = pipeline.sessions.unet.runMs - unetBefore;
    samples.push({
      total_ms: result.timings.totalMs,
      session_run_ms: sessionRunMs,
      denoise_ms: result.timings.denoiseMs,
      unet_run_ms: unetRunMs,
      overhead_ms_per_step: (result.timings.denoiseMs - unetRunMs) / options.steps,
      overhead_ms_per_step_p50: stepGaps.sort((a, b) => a - b)[Math.floor(stepGaps.length / 2)],
    });
  }
  await pipeline.release();
  const median = (key: keyof (typeof samples)[number]) => {
    const sorted = samples.map((sample) => sample[key]).sort((a, b) => a - b);
    return Math.round(sorted[Math.floor(sorted.length / 2)] * 1000) / 1000;
  };
  process.stdout.write(
    `${JSON.stringify({
      bench: 'engine',
      model: MODEL_DIR,
      execution_provider: pipeline.executionProvider,
      width: options.width,
      height: options.height,
      steps: options.steps,
      guidance_scale: options.guidanceScale,
      runs: RUNS,
      total_ms: median('total_ms'),
      session_run_ms: median('session_run_ms'),
      denoise_ms: median('denoise_ms'),
      unet_run_ms: median('unet_run_ms'),
      overhead_ms_per_step: median('overhead_ms_per_step'),
      overhead_ms_per_step_p50: median('overhead_ms_per_step_p50'),
    })}\n`,
  );
}

main().catch((error: Error) => {
  process.stderr.write(`bench:engine failed: ${error.message}\n`);
  process.exit(1);
});
