/**
 * The only module that imports onnxruntime. It creates sessions, adapts our float32/int data to
 * whatever dtypes an export declares (int32 or int64 ids, float16 or float32 tensors), checks feeds
 * against the session's inputs, and reports types and shapes when a run fails.
 */
import * as ort from 'onnxruntime-node';
import type { MemoryMode } from '../memory-mode';
import { float16ToFloat32, float32ToFloat16 } from './float16';
import { resolveThreads } from './threads';

export type ElementType = 'float32' | 'float16' | 'float64' | 'int32' | 'int64';
const SUPPORTED_TYPES: readonly string[] = ['float32', 'float16', 'float64', 'int32', 'int64'];

/** An input or output as the model file declares it. */
export interface TensorSpec {
  readonly name: string;
  readonly type: string;
  /** Dimensions; strings are symbolic (dynamic) axes. */
  readonly shape: ReadonlyArray<number | string>;
}

/** Data we feed: floats as Float32Array, integers as any numeric array. */
export interface Feed {
  readonly data: Float32Array | Int32Array | readonly number[];
  readonly dims: readonly number[];
}

/** A feed converted once to the session's dtype, for inputs that stay the same across steps. */
export class PreparedFeed {
  /** @internal */
  constructor(readonly tensor: ort.Tensor) {}
}

export interface OutputTensor {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

export interface SessionOptions {
  readonly executionProviders: ReadonlyArray<'cuda' | 'cpu'>;
  /** See memory-mode.ts. @default 'default' */
  readonly memory?: MemoryMode;
  /**
   * Every run of this session is one batch of one (the UNet and the decoders under bounded memory),
   * so onnxruntime's arena, which keeps a run's high-water mark, holds a fixed amount and is kept
   * even when memory is bounded. @default false
   */
  readonly batchOfOne?: boolean;
  /** onnxruntime's intra-op threads (threads.ts). @default - every CPU the host gives */
  readonly threads?: number;
  /** Only `npm run bench:sessions` sets it, to measure the levels against each other. @default GRAPH_OPTIMIZATION_LEVEL */
  readonly graphOptimizationLevel?: GraphOptimizationLevel;
}

export type GraphOptimizationLevel = 'disabled' | 'basic' | 'extended' | 'all';

/**
 * 'extended', not 'all': on the full-size SD 1.5 UNet (onnxruntime-node 1.30, CPU) 'all' made
 * session creation take 27.9 s against 1.1 s at 'extended', for calls within noise of each other
 * (2.5 s against 2.8 s), and 'all' only adds the CPU provider's layout transforms (NCHWc), which a
 * CUDA session does not use. `npm run bench:sessions` measures both.
 */
export const GRAPH_OPTIMIZATION_LEVEL: GraphOptimizationLevel = 'extended';

/**
 * onnxruntime's CPU kernels repack constant weights at session creation for faster matrix products.
 * On the full-size SD 1.5 export (2 threads, weights external) that made creation far slower for
 * runs no faster where convolutions dominate: the UNet's session took 4.9 s against 0.84 s without,
 * its calls 3.34–3.44 s against 3.20–3.33 s; the VAE decoder's 9.3 s either way. The transformers
 * lose a little: the text encoder 1.66 → 0.16 s to create for 60 → 78 ms a prompt, the safety
 * checker 5.6 → 0.34 s for 0.64 → 0.80 s an image (paid back after some 35 images, more than a
 * Lambda environment usually serves). Sessions are created one after another (onnxruntime-node does
 * it on the JS thread), so this is seconds off every cold start. CUDA kernels do not prepack.
 */
const NO_PREPACKING = { disable_prepacking: '1' } as const;

export class ModelSession {
  /** Milliseconds spent inside `session.run`, for the benchmark's overhead split. */
  public runMs = 0;
  public runCount = 0;

  static async create(file: string, label: string, options: SessionOptions): Promise<ModelSession> {
    let session: ort.InferenceSession;
    const started = performance.now();
    try {
      session = await ort.InferenceSession.create(file, {
        executionProviders: [...options.executionProviders],
        graphOptimizationLevel: options.graphOptimizationLevel ?? GRAPH_OPTIMIZATION_LEVEL,
        intraOpNumThreads: resolveThreads(options.threads),
        extra: { session: { intra_op: { allow_spinning: '0' }, ...NO_PREPACKING } },
        ...memorySessionOptions(options.memory ?? 'default', options.batchOfOne ?? false),
      });
    } catch (error) {
      throw new Error(`${label}: onnxruntime could not load the model: ${(error as Error).message}`);
    }
    return new ModelSession(session, label, performance.now() - started);
  }

  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];

  private constructor(
    private readonly session: ort.InferenceSession,
    /** e.g. `unet/model.onnx`, used in every error. */
    readonly label: string,
    /** Wall milliseconds onnxruntime took to create the session (cold-start figures). */
    readonly createMs: number,
  ) {
    this.inputs = session.inputMetadata.map(toSpec);
    this.outputs = session.outputMetadata.map(toSpec);
  }

  input(name: string): TensorSpec | undefined {
    return this.inputs.find((spec) => spec.name === name);
  }

  output(name: string): TensorSpec | undefined {
    return this.outputs.find((spec) => spec.name === name);
  }

  /** Converts `feed` for input `name` once; pass the result to `run` as often as needed. */
  prepare(name: string, feed: Feed): PreparedFeed {
    const spec = this.input(name);
    if (!spec) throw new Error(`${this.label}: has no input "${name}"`);
    return new PreparedFeed(toOrtTensor(feed, spec.type as ElementType));
  }

  async run(feeds: Readonly<Record<string, Feed | PreparedFeed>>, outputNames: readonly string[]): Promise<Record<string, OutputTensor>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const spec of this.inputs) {
      const feed = feeds[spec.name];
      if (!feed) throw new Error(`${this.label}: missing input "${spec.name}"`);
      ortFeeds[spec.name] = feed instanceof PreparedFeed ? feed.tensor : toOrtTensor(feed, spec.type as ElementType);
    }
    const started = performance.now();
    let results: ort.InferenceSession.ReturnType;
    try {
      results = await this.session.run(ortFeeds, [...outputNames]);
    } catch (error) {
      const described = Object.entries(ortFeeds)
        .map(([name, tensor]) => `${name}: ${tensor.type}[${tensor.dims.join(',')}]`)
        .join('; ');
      throw new Error(`${this.label}: inference failed with inputs ${described}: ${(error as Error).message}`);
    } finally {
      this.runMs += performance.now() - started;
      this.runCount += 1;
    }
    const outputs: Record<string, OutputTensor> = {};
    for (const name of outputNames) {
      const tensor = results[name];
      outputs[name] = { data: toFloat32(tensor, this.label), dims: tensor.dims };
      tensor.dispose();
    }
    return outputs;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}

/**
 * onnxruntime's CPU arena keeps every block it ever handed out for the session's life, so each
 * session holds its own high-water mark and the process peaks at their sum. Under bounded memory the
 * sessions that run a batch of one (the UNet, called per row, and the decoders, per image) keep it:
 * what it holds is one run's activations at the largest size the mode accepts, a fixed amount, and
 * the decode's peak lands on top of the UNet's kept arena whether the decoder's own is on or off.
 * Without it every run page-faults its activations in afresh: on the full-size SD 1.5 pipeline
 * (2 threads, 4-step LCM-style 512²) the UNet's first run took 23.1 s against 11.3 s and the full VAE's
 * decode 35.5 s against 14.5 s, for a peak 0.3 GB lower (7.2 against 7.5 GB). The parts that run
 * once a request on other shapes (text and image encoders, the safety checker) give memory back.
 * Memory patterns stay on everywhere: without them every large tensor is page-faulted in afresh on
 * every run (the full-size UNet took 40% longer per call for a higher peak). Figures:
 * tools/full-size-model/README.md.
 */
export function memorySessionOptions(memory: MemoryMode, batchOfOne: boolean): Pick<ort.InferenceSession.SessionOptions, 'enableCpuMemArena'> {
  return memory === 'bounded' && !batchOfOne ? { enableCpuMemArena: false } : {};
}

export function isSupportedType(type: string): type is ElementType {
  return SUPPORTED_TYPES.includes(type);
}

function toSpec(metadata: ort.InferenceSession.ValueMetadata): TensorSpec {
  if (!metadata.isTensor) return { name: metadata.name, type: 'non-tensor', shape: [] };
  return { name: metadata.name, type: metadata.type, shape: metadata.shape };
}

function toOrtTensor(feed: Feed, type: ElementType): ort.Tensor {
  const dims = [...feed.dims];
  const { data } = feed;
  switch (type) {
    case 'float32':
      return new ort.Tensor('float32', data instanceof Float32Array ? data : Float32Array.from(data), dims);
    case 'float16':
      return new ort.Tensor('float16', float32ToFloat16(data instanceof Float32Array ? data : Float32Array.from(data)), dims);
    case 'float64':
      return new ort.Tensor('float64', Float64Array.from(data), dims);
    case 'int32':
      return new ort.Tensor('int32', data instanceof Int32Array ? data : Int32Array.from(data, Math.trunc), dims);
    case 'int64':
      // numpy's astype(int64) truncates toward zero; so do we, to match diffusers on integer UNets.
      return new ort.Tensor('int64', BigInt64Array.from(Array.from(data, (v) => BigInt(Math.trunc(v)))), dims);
  }
}

function toFloat32(tensor: ort.Tensor, label: string): Float32Array {
  switch (tensor.type) {
    case 'float32':
      return tensor.data as Float32Array;
    case 'float16': {
      const data = tensor.data as unknown;
      // onnxruntime returns fp16 as Uint16Array bit patterns (or Float16Array where the runtime has one).
      return data instanceof Uint16Array ? float16ToFloat32(data) : Float32Array.from(data as ArrayLike<number>);
    }
    case 'float64':
      return Float32Array.from(tensor.data as Float64Array);
    case 'bool':
      // The safety checker's `has_nsfw_concepts`: true as 1.
      return Float32Array.from(tensor.data as Uint8Array);
    default:
      throw new Error(`${label}: output has type ${tensor.type}; expected a floating-point tensor`);
  }
}
