/**
 * npm run bench:cpu -- --model DIR — what a full-size SD 1.x pipeline costs on this CPU, the
 * figures the Lambda backend is sized from: one 512×512 4-step LCM-style run (`--scheduler lcm
 * --guidance-scale 1`: one UNet batch of one per step) and one 25-step guided run (the model's
 * own scheduler, guidance 7.5: a batch of two per call, or two calls of one under bounded memory),
 * each in the engine's default and bounded memory modes. Each case runs in a fresh process so its
 * peak RSS is its own. Prints one JSON line per case and mode, then the Lambda extrapolation.
 *
 * With `--tiny-vae DIR` (a TAESD-sized tiny VAE, tools/full-size-model/build_taesd.py) it first
 * compares the decoders in one process on one loaded pipeline: the 4-step LCM-style image with the
 * full VAE and with the tiny one (after a warm-up run), each decode's ms and each image's total.
 *
 * Make a full-size pipeline with random weights (no download) with tools/full-size-model/.
 */
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { isMemoryMode, MEMORY_MODES, type MemoryMode } from '../src/engine/memory-mode';
import type { ModelSession } from '../src/engine/onnx/model-session';
import { StableDiffusionPipeline, type GenerateOptions } from '../src/engine/pipeline';
import { StepPreviews } from '../src/engine/preview/step-previews';

const CASES: Record<string, GenerateOptions> = {
  lcm_4_steps: { prompt: 'a photo of an astronaut riding a horse on mars', width: 512, height: 512, steps: 4, scheduler: 'lcm', guidanceScale: 1, seed: 1 },
  guided_25_steps: { prompt: 'a photo of an astronaut riding a horse on mars', width: 512, height: 512, steps: 25, guidanceScale: 7.5, seed: 1 },
};
/** Lambda's largest function: 10,240 MB gives 6 vCPUs. x86 list price, us-east-1. */
const LAMBDA = { memoryMb: 10240, vcpus: 6, perGbSecondUsd: 0.0000166667, perRequestUsd: 0.2 / 1e6 };
const USAGE = `usage: npm run bench:cpu -- --model DIR [--tiny-vae DIR] [--case ${Object.keys(CASES).join('|')}|decoders] [--memory ${MEMORY_MODES.join('|')}]\n`;
const DECODERS_CASE = 'decoders';

function flag(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

/**
 * CPU time (user + system, all of onnxruntime's threads) spent in a session's runs: on a shared
 * machine wall time swells with other work, CPU time much less, so it is the steadier figure.
 */
function meterCpu(session: ModelSession): { readonly cpuMs: () => number } {
  let micros = 0;
  const run = session.run.bind(session);
  session.run = async (feeds, outputs) => {
    const before = process.cpuUsage();
    try {
      return await run(feeds, outputs);
    } finally {
      const used = process.cpuUsage(before);
      micros += used.user + used.system;
    }
  };
  return { cpuMs: () => micros / 1000 };
}

/** The process's high-water mark so far (Linux reports ru_maxrss in KiB). */
function peakRssMb(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

/** Both decoders on the same latents' pipeline, same process: decode ms and the whole 4-step image's ms with each. */
async function runDecoders(model: string, tinyVaeDir: string): Promise<void> {
  const pipeline = await StableDiffusionPipeline.load(model, { executionProvider: 'cpu', decoder: 'full', tinyVaeDir });
  const tiny = pipeline.sessions.tinyVaeDecoder!;
  const [fullCpu, tinyCpu] = [meterCpu(pipeline.sessions.vaeDecoder), meterCpu(tiny)];
  const options = CASES.lcm_4_steps;
  await pipeline.generate({ ...options, decoder: 'full' }); // warm-up: first runs pay onnxruntime's lazy initialisation
  let previews = 0;
  const measure = async (decoder: 'full' | 'tiny', withPreviews = false) => {
    const session = decoder === 'full' ? pipeline.sessions.vaeDecoder : tiny;
    const cpu = decoder === 'full' ? fullCpu : tinyCpu;
    const [runMs, cpuMs] = [session.runMs, cpu.cpuMs()];
    const maker = withPreviews ? new StepPreviews(pipeline, () => (previews += 1)) : undefined;
    const cpuBefore = process.cpuUsage();
    const result = await pipeline.generate({ ...options, decoder, onStep: (progress) => maker?.offer(progress) });
    await maker?.settle();
    const cpuUsed = process.cpuUsage(cpuBefore);
    return {
      generate_cpu_ms: Math.round((cpuUsed.user + cpuUsed.system) / 1000),
      decoder_run_ms: Math.round(session.runMs - runMs),
      decoder_cpu_ms: Math.round(cpu.cpuMs() - cpuMs),
      decode_ms: Math.round(result.timings.decodeMs),
      denoise_ms: Math.round(result.timings.denoiseMs),
      total_ms: Math.round(result.timings.totalMs),
    };
  };
  const full = await measure('full');
  const tinyFigures = await measure('tiny');
  // Live previews as the engine server makes them (at most one per 1.5 s, beside the next UNet call).
  const tinyWithPreviews = await measure('tiny', true);
  // Again in the other order: on a shared machine one pair alone can mislead.
  const tinyWithPreviewsAgain = await measure('tiny', true);
  const tinyAgain = await measure('tiny');
  process.stdout.write(
    `${JSON.stringify({
      case: 'decoders_lcm_4_steps_512',
      cpus: cpus().length,
      full,
      tiny: tinyFigures,
      tiny_decode_vs_full: Number((tinyFigures.decode_ms / full.decode_ms).toFixed(3)),
      tiny_total_vs_full: Number((tinyFigures.total_ms / full.total_ms).toFixed(3)),
      tiny_with_previews: tinyWithPreviews,
      tiny_with_previews_again: tinyWithPreviewsAgain,
      tiny_again: tinyAgain,
      previews,
      previews_added_wall: Number(((tinyWithPreviews.total_ms + tinyWithPreviewsAgain.total_ms) / (tinyFigures.total_ms + tinyAgain.total_ms) - 1).toFixed(3)),
      previews_added_cpu: Number(
        ((tinyWithPreviews.generate_cpu_ms + tinyWithPreviewsAgain.generate_cpu_ms) / (tinyFigures.generate_cpu_ms + tinyAgain.generate_cpu_ms) - 1).toFixed(3),
      ),
      peak_rss_mb: peakRssMb(),
    })}\n`,
  );
  await pipeline.release();
}

async function runCase(model: string, name: string, memory: MemoryMode): Promise<void> {
  const loadStarted = performance.now();
  const pipeline = await StableDiffusionPipeline.load(model, { executionProvider: 'cpu', memory });
  const loadMs = performance.now() - loadStarted;
  const loadPeakRssMb = peakRssMb();
  const rssAfterLoadMb = Math.round(process.memoryUsage().rss / 2 ** 20);
  const { unet, vaeDecoder, textEncoder } = pipeline.sessions;
  const [unetCpu, vaeDecoderCpu] = [meterCpu(unet), meterCpu(vaeDecoder)];
  const cpuBefore = process.cpuUsage();
  let unetBatch = 0;
  const run = unet.run.bind(unet);
  unet.run = (feeds, outputs) => {
    unetBatch = Math.max(unetBatch, (feeds.sample as { dims: readonly number[] }).dims[0]);
    return run(feeds, outputs);
  };
  const result = await pipeline.generate(CASES[name]);
  const cpuUsed = process.cpuUsage(cpuBefore);
  const perCall = (session: { runMs: number; runCount: number }) => Math.round(session.runMs / Math.max(1, session.runCount));
  process.stdout.write(
    `${JSON.stringify({
      case: name,
      memory,
      cpus: cpus().length,
      load_ms: Math.round(loadMs),
      total_ms: Math.round(result.timings.totalMs),
      denoise_ms: Math.round(result.timings.denoiseMs),
      unet_calls: unet.runCount,
      unet_batch: unetBatch,
      unet_ms_per_call: perCall(unet),
      unet_cpu_ms_per_call: Math.round(unetCpu.cpuMs() / Math.max(1, unet.runCount)),
      vae_decode_ms: perCall(vaeDecoder),
      vae_decode_cpu_ms: Math.round(vaeDecoderCpu.cpuMs() / Math.max(1, vaeDecoder.runCount)),
      generate_cpu_ms: Math.round((cpuUsed.user + cpuUsed.system) / 1000),
      text_encoder_ms_per_call: perCall(textEncoder),
      rss_after_load_mb: rssAfterLoadMb,
      load_peak_rss_mb: loadPeakRssMb,
      peak_rss_mb: peakRssMb(),
    })}\n`,
  );
  await pipeline.release();
}

function main(): void {
  const model = flag('model');
  const only = flag('case');
  const memory = flag('memory');
  const tinyVaeDir = flag('tiny-vae');
  if (!model || (only !== undefined && !CASES[only] && !(only === DECODERS_CASE && tinyVaeDir))  || (memory !== undefined && !isMemoryMode(memory))) {
    process.stderr.write(USAGE);
    process.exit(2);
  }
  if (process.env.BENCH_CPU_CHILD === '1') {
    (only === DECODERS_CASE ? runDecoders(model, tinyVaeDir!) : runCase(model, only!, memory as MemoryMode)).catch((error: Error) => {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    });
    return;
  }
  if (tinyVaeDir !== undefined && (only === undefined || only === DECODERS_CASE)) {
    const line = execFileSync(process.execPath, [process.argv[1], '--model', model, '--case', DECODERS_CASE, '--tiny-vae', tinyVaeDir], {
      env: { ...process.env, BENCH_CPU_CHILD: '1' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    process.stdout.write(line);
    if (only === DECODERS_CASE) return;
  }
  const names = only ? [only] : Object.keys(CASES);
  const modes = memory ? [memory as MemoryMode] : MEMORY_MODES;
  for (const name of names) {
    for (const mode of modes) {
      const line = execFileSync(process.execPath, [process.argv[1], '--model', model, '--case', name, '--memory', mode], {
        env: { ...process.env, BENCH_CPU_CHILD: '1' },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      }).trim();
      process.stdout.write(`${line}\n`);
      const figures = JSON.parse(line) as { total_ms: number; load_ms: number; cpus: number; peak_rss_mb: number };
      // onnxruntime's CPU kernels scale close to linearly over cores for these convolutions; an estimate, not a measurement.
      const lambdaSeconds = (figures.total_ms / 1000) * (figures.cpus / LAMBDA.vcpus);
      process.stdout.write(
        `${JSON.stringify({
          case: name,
          memory: mode,
          lambda_estimate: {
            assumption: `linear scaling from ${figures.cpus} to ${LAMBDA.vcpus} vCPUs`,
            seconds: Math.round(lambdaSeconds * 10) / 10,
            usd_per_image: Number((lambdaSeconds * (LAMBDA.memoryMb / 1024) * LAMBDA.perGbSecondUsd + LAMBDA.perRequestUsd).toFixed(5)),
            cold_start_load_seconds: Math.round(((figures.load_ms / 1000) * figures.cpus) / LAMBDA.vcpus),
            fits_memory: figures.peak_rss_mb < LAMBDA.memoryMb,
          },
        })}\n`,
      );
    }
  }
}

main();
