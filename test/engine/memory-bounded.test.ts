/**
 * `memory: 'bounded'`: every UNet call is a batch of one, guidance included, and the results are
 * those of the batched default path (and so of diffusers) within float32 rounding.
 */
import * as ort from 'onnxruntime-node';
import { join, relative } from 'node:path';
import { ModelSession, type Feed } from '../../container/src/engine/onnx/model-session';
import { StableDiffusionPipeline, type GenerateOptions, type GenerateResult, type StepProgress } from '../../container/src/engine/pipeline';
import { img2imgCases, img2imgGenerateOptions, maxAbsDiff, oracleCases, oracleGenerateOptions, readFloat32, TINY_LCM, TINY_SD, TINY_TAESD } from '../support/oracle';

/**
 * What "the same numbers" means here: float32 rounding of a batch-1 versus a batch-2 matmul, on one
 * onnxruntime thread. The engine creates sessions without prepacked weights (model-session.ts), and
 * then onnxruntime's matrix kernels block a product of one row differently from one of two even on
 * one thread: sums in other orders move a step's latents or the image by up to 1.1e-4 here (most
 * cases a few 1e-5; with prepacking and one thread they were equal), still a tenth of the oracle's 1e-3.
 */
const PARITY_TOLERANCE = 2e-4;
const ONE_THREAD = { executionProvider: 'cpu', threads: 1 } as const;
/** The oracle suite's bound (oracle.test.ts). */
const ORACLE_TOLERANCE = 1e-3;

interface UnetCall {
  readonly sample: readonly number[];
  readonly encoderHiddenStates: readonly number[];
  readonly timestepCond?: readonly number[];
}

function recordUnetCalls(target: StableDiffusionPipeline): UnetCall[] {
  const calls: UnetCall[] = [];
  const original = target.sessions.unet.run.bind(target.sessions.unet);
  jest.spyOn(target.sessions.unet, 'run').mockImplementation((feeds, outputs) => {
    const dims = (name: string) => {
      const feed = feeds[name];
      return feed === undefined ? undefined : 'tensor' in feed ? [...feed.tensor.dims] : [...(feed as Feed).dims];
    };
    const cond = dims('timestep_cond');
    calls.push({ sample: dims('sample')!, encoderHiddenStates: dims('encoder_hidden_states')!, ...(cond ? { timestepCond: cond } : {}) });
    return original(feeds, outputs);
  });
  return calls;
}

/** Runs `options` on both pipelines, keeping every step's latents. */
async function runBoth(batched: StableDiffusionPipeline, bounded: StableDiffusionPipeline, options: GenerateOptions) {
  const run = async (pipeline: StableDiffusionPipeline) => {
    const steps: Float32Array[] = [];
    const result = await pipeline.generate({ ...options, onStep: (p: StepProgress) => steps.push(p.latents.slice()) });
    return { result, steps };
  };
  return { batched: await run(batched), bounded: await run(bounded) };
}

function largestDifference(a: { result: GenerateResult; steps: Float32Array[] }, b: { result: GenerateResult; steps: Float32Array[] }): number {
  expect(b.steps).toHaveLength(a.steps.length);
  expect(b.result.images).toHaveLength(a.result.images.length);
  const latents = a.steps.map((step, i) => maxAbsDiff(step, b.steps[i]));
  const images = a.result.images.map((image, i) => maxAbsDiff(image.pixels, b.result.images[i].pixels));
  return Math.max(...latents, ...images);
}

afterEach(() => jest.restoreAllMocks());

describe('tiny-sd', () => {
  let batched: StableDiffusionPipeline;
  let bounded: StableDiffusionPipeline;
  beforeAll(async () => {
    [batched, bounded] = await Promise.all([
      StableDiffusionPipeline.load(TINY_SD, ONE_THREAD),
      StableDiffusionPipeline.load(TINY_SD, { ...ONE_THREAD, memory: 'bounded' }),
    ]);
  });
  afterAll(() => Promise.all([batched.release(), bounded.release()]));

  it('reports the mode it was loaded with', () => {
    expect([batched.memory, bounded.memory]).toEqual(['default', 'bounded']);
  });

  it('runs guidance as an unconditional and a conditional call of one row each, per image', async () => {
    const calls = recordUnetCalls(bounded);
    await bounded.generate({ prompt: 'a cat', steps: 2, guidanceScale: 7.5, numImages: 2, seed: 1, scheduler: 'ddim' });
    expect(calls).toHaveLength(2 * 2 * 2);
    expect(calls.every((call) => call.sample[0] === 1 && call.encoderHiddenStates[0] === 1)).toBe(true);
  });

  it('runs one row per call without guidance too', async () => {
    const calls = recordUnetCalls(bounded);
    await bounded.generate({ prompt: 'a cat', steps: 2, guidanceScale: 1, numImages: 3, seed: 1, scheduler: 'ddim' });
    expect(calls.map((call) => call.sample[0])).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it.each(oracleCases().filter((c) => c.guidance_scale > 1).map((c) => [c.id, c] as const))(
    'guided case %s: matches the batched path and diffusers',
    async (_id, c) => {
      const { batched: a, bounded: b } = await runBoth(batched, bounded, oracleGenerateOptions(c));
      expect(largestDifference(a, b)).toBeLessThanOrEqual(PARITY_TOLERANCE);
      expect(maxAbsDiff(b.result.images[0].pixels, readFloat32(c.image_float))).toBeLessThan(ORACLE_TOLERANCE);
    },
  );

  it('matches the batched path for several images at a size the UNet needs padded for', async () => {
    // 72 px is a 9-cell latent, padded to 10 for the tiny UNet; image i of the bounded run is its own row.
    const options = { prompt: 'a lighthouse', negativePrompt: 'fog', steps: 5, guidanceScale: 6, numImages: 3, seed: 21, width: 72, height: 64, scheduler: 'dpmpp_2m' as const };
    const { batched: a, bounded: b } = await runBoth(batched, bounded, options);
    expect(largestDifference(a, b)).toBeLessThanOrEqual(PARITY_TOLERANCE);
    expect(maxAbsDiff(b.result.images[0].pixels, b.result.images[2].pixels)).toBeGreaterThan(1e-3);
  });

  it('matches diffusers on image-to-image with guidance', async () => {
    const c = img2imgCases().find((candidate) => candidate.guidance_scale > 1)!;
    const { batched: a, bounded: b } = await runBoth(batched, bounded, img2imgGenerateOptions(c));
    expect(largestDifference(a, b)).toBeLessThanOrEqual(PARITY_TOLERANCE);
    expect(maxAbsDiff(b.result.images[0].pixels, readFloat32(c.image_float))).toBeLessThan(ORACLE_TOLERANCE);
  });
});

describe('tiny-lcm', () => {
  it('gives each one-row call its own guidance embedding row and matches the batched path', async () => {
    const [batched, bounded] = await Promise.all([
      StableDiffusionPipeline.load(TINY_LCM, ONE_THREAD),
      StableDiffusionPipeline.load(TINY_LCM, { ...ONE_THREAD, memory: 'bounded' }),
    ]);
    try {
      const calls = recordUnetCalls(bounded);
      const { batched: a, bounded: b } = await runBoth(batched, bounded, { prompt: 'a fox', steps: 4, guidanceScale: 8, numImages: 2, seed: 3 });
      expect(calls).toHaveLength(4 * 2);
      expect(calls.every((call) => call.sample[0] === 1 && call.timestepCond?.[0] === 1)).toBe(true);
      expect(largestDifference(a, b)).toBeLessThanOrEqual(PARITY_TOLERANCE);
    } finally {
      await Promise.all([batched.release(), bounded.release()]);
    }
  });
});

describe('loading', () => {
  it('creates bounded sessions without the CPU arena but with memory patterns, and leaves the default as onnxruntime has it', async () => {
    const create = jest.spyOn(ort.InferenceSession, 'create');
    const file = `${TINY_SD}/text_encoder/model.onnx`;
    const sessions = [
      await ModelSession.create(file, 'text_encoder/model.onnx', { executionProviders: ['cpu'], memory: 'bounded' }),
      await ModelSession.create(file, 'text_encoder/model.onnx', { executionProviders: ['cpu'] }),
    ];
    await Promise.all(sessions.map((session) => session.release()));
    const [boundedOptions, defaultOptions] = create.mock.calls.map((call) => call[1] as ort.InferenceSession.SessionOptions);
    expect(boundedOptions).toMatchObject({ enableCpuMemArena: false });
    expect(boundedOptions.enableMemPattern ?? true).toBe(true);
    expect(defaultOptions).not.toHaveProperty('enableCpuMemArena');
    expect(defaultOptions).not.toHaveProperty('enableMemPattern');
    // Weights are not repacked at creation, in either mode (model-session.ts has the figures).
    for (const options of [boundedOptions, defaultOptions]) expect(options.extra).toMatchObject({ session: { disable_prepacking: '1' } });
  });

  it('keeps the arena under bounded memory only for the sessions that run a batch of one: the UNet and the decoders', async () => {
    const create = jest.spyOn(ort.InferenceSession, 'create');
    const pipeline = await StableDiffusionPipeline.load(TINY_SD, { executionProvider: 'cpu', memory: 'bounded', tinyVaeDir: TINY_TAESD, safetyChecker: 'off' });
    await pipeline.release();
    const files = (arena: boolean) =>
      create.mock.calls
        .filter((call) => ((call[1] as ort.InferenceSession.SessionOptions).enableCpuMemArena ?? true) === arena)
        .map((call) => relative(join(TINY_SD, '..'), String(call[0])))
        .sort();
    expect(files(true)).toEqual(['tiny-sd/unet/model.onnx', 'tiny-sd/vae_decoder/model.onnx', 'tiny-taesd/vae_decoder/model.onnx']);
    expect(files(false)).toEqual(['tiny-sd/text_encoder/model.onnx', 'tiny-sd/vae_encoder/model.onnx']);
    create.mockRestore();
  });

  it('refuses a memory mode it does not know, naming it', async () => {
    await expect(StableDiffusionPipeline.load(TINY_SD, { executionProvider: 'cpu', memory: 'tiny' as never })).rejects.toThrow(
      'memory has to be one of default, bounded but is "tiny"',
    );
  });
});
