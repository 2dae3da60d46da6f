/**
 * npm run bench:sessions -- --model DIR [--part unet|text_encoder|vae_decoder] — what onnxruntime's
 * session options cost on one part of a full-size SD 1.x export, on this CPU: for each graph
 * optimization level and thread count, in a fresh process each, the session's creation time, its
 * first run and the mean of the next runs, with CPU time beside wall time (CPU ≈ threads × wall
 * shows the threads were used). `--memory bounded` measures the session with onnxruntime's arena
 * off, as bounded memory creates every part but the UNet. The engine's defaults (model-session.ts,
 * threads.ts) are chosen from these figures. Make a full-size pipeline with tools/full-size-model/.
 */
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { MemoryMode } from '../src/engine/memory-mode';
import { ModelSession, type Feed, type GraphOptimizationLevel } from '../src/engine/onnx/model-session';

const PARTS = ['unet', 'text_encoder', 'vae_decoder'] as const;
type Part = (typeof PARTS)[number];
const LEVELS: readonly GraphOptimizationLevel[] = ['extended', 'all'];
const LATER_RUNS = 2;
const USAGE = `usage: npm run bench:sessions -- --model DIR [--part ${PARTS.join('|')}] [--levels extended,all] [--threads 1,2] [--memory default,bounded]\n`;

function flag(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

/** SD 1.x inputs at 512×512, batch 1: what one engine call of each part receives. */
function feedsFor(part: Part): { feeds: Record<string, Feed>; outputs: string[] } {
  const noise = (length: number) => Float32Array.from({ length }, (_, i) => Math.sin(i * 12.9898) * 0.5);
  switch (part) {
    case 'unet':
      return {
        feeds: {
          sample: { data: noise(4 * 64 * 64), dims: [1, 4, 64, 64] },
          timestep: { data: new Float32Array([999]), dims: [] },
          encoder_hidden_states: { data: noise(77 * 768), dims: [1, 77, 768] },
        },
        outputs: ['out_sample'],
      };
    case 'text_encoder':
      return { feeds: { input_ids: { data: Array.from({ length: 77 }, (_, i) => (i === 0 ? 49406 : 49407)), dims: [1, 77] } }, outputs: ['last_hidden_state'] };
    case 'vae_decoder':
      return { feeds: { latent_sample: { data: noise(4 * 64 * 64), dims: [1, 4, 64, 64] } }, outputs: ['sample'] };
  }
}

async function measureOne(modelDir: string, part: Part, level: GraphOptimizationLevel, threads: number, memory: MemoryMode): Promise<void> {
  const cpu = () => {
    const usage = process.cpuUsage();
    return (usage.user + usage.system) / 1000;
  };
  const timed = async <T>(work: () => Promise<T>) => {
    const [wall, cpuBefore] = [performance.now(), cpu()];
    const value = await work();
    return { value, wallMs: Math.round(performance.now() - wall), cpuMs: Math.round(cpu() - cpuBefore) };
  };
  const created = await timed(() =>
    ModelSession.create(join(modelDir, part, 'model.onnx'), `${part}/model.onnx`, { executionProviders: ['cpu'], graphOptimizationLevel: level, threads, memory }),
  );
  const session = created.value;
  const { feeds, outputs } = feedsFor(part);
  // The spec's timestep may be an int64 [batch]: feed it the way the export declares.
  const timestep = session.input('timestep');
  if (timestep && timestep.shape.length === 1) feeds.timestep = { data: [999], dims: [1] };
  const first = await timed(() => session.run(feeds, outputs));
  const later: Array<{ wallMs: number; cpuMs: number }> = [];
  for (let i = 0; i < LATER_RUNS; i++) later.push(await timed(() => session.run(feeds, outputs)));
  const mean = (key: 'wallMs' | 'cpuMs') => Math.round(later.reduce((sum, run) => sum + run[key], 0) / later.length);
  await session.release();
  process.stdout.write(
    `${JSON.stringify({
      part,
      graph_optimization_level: level,
      threads,
      memory,
      session_ms: created.wallMs,
      session_cpu_ms: created.cpuMs,
      first_run_ms: first.wallMs,
      first_run_cpu_ms: first.cpuMs,
      run_ms: mean('wallMs'),
      run_cpu_ms: mean('cpuMs'),
      peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    })}\n`,
  );
}

async function main(): Promise<void> {
  const modelDir = flag('model');
  if (!modelDir) {
    process.stderr.write(USAGE);
    process.exit(2);
  }
  const part = (flag('part') ?? 'unet') as Part;
  if (!PARTS.includes(part)) throw new Error(`--part must be one of ${PARTS.join(', ')} but is ${part}`);
  const child = flag('child');
  if (child) {
    const [level, threads, memory] = child.split(':');
    await measureOne(modelDir, part, level as GraphOptimizationLevel, Number(threads), memory as MemoryMode);
    return;
  }
  const levels = (flag('levels')?.split(',') ?? LEVELS) as GraphOptimizationLevel[];
  const threadCounts = flag('threads')?.split(',').map(Number) ?? [...new Set([1, 2, availableParallelism()])];
  const memories = (flag('memory')?.split(',') ?? ['default']) as MemoryMode[];
  process.stderr.write(`${part}: levels ${levels.join(', ')}; threads ${threadCounts.join(', ')}; ${availableParallelism()} CPUs here\n`);
  for (const level of levels) {
    for (const threads of threadCounts) {
      for (const memory of memories) {
        // A fresh process per case: its peak RSS and its first run are its own.
        execFileSync(process.execPath, [process.argv[1], '--model', modelDir, '--part', part, '--child', `${level}:${threads}:${memory}`], { stdio: 'inherit' });
      }
    }
  }
}

main().catch((error: Error) => {
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
});
