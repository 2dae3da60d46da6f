/**
 * Finds, in an ONNX export, the weight initializer of each linear layer and 1×1 convolution, named
 * by its module path in the PyTorch model (`down_blocks.0.attentions.0.proj_in`), and reads and
 * writes those weights whether they sit inside the protobuf or in an external data file.
 *
 * The protobuf definition is `onnx-proto` (onnx.proto compiled by protobufjs, the definition
 * onnxjs used); the graph is decoded once and, when a weight is inline, encoded again.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import { onnx } from 'onnx-proto';
import { fromHalfBits, toHalfBits } from '../../../container/src/engine/onnx/float16';

/** Leading scopes exporters put before the module path: the traced wrapper's attribute, or transformers' `text_model`. */
const ROOT_SCOPES = new Set(['unet', 'model', 'te', 'text_model', 'text_encoder', 'transformer']);

export type WeightLayout = 'out-in' | 'in-out';

export interface ModuleWeight {
  /** The module path with the exporter's root scopes removed, e.g. `encoder.layers.0.self_attn.q_proj`. */
  readonly modulePath: string;
  readonly initializer: onnx.ITensorProto;
  /** `out-in` for Conv and Gemm with transB (PyTorch's layout); `in-out` for MatMul, which stores the transpose. */
  readonly layout: WeightLayout;
  readonly outFeatures: number;
  readonly inFeatures: number;
  readonly dtype: 'float32' | 'float16';
  /** How it was found, for messages. */
  readonly foundBy: 'initializer name' | 'node scope';
}

/** Module paths whose weight is one initializer shared with another module (an exporter that merges identical tensors). */
export type SharedWeights = ReadonlyMap<string, readonly string[]>;

export class OnnxMappingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxMappingError';
  }
}

export interface LoadedGraph {
  readonly model: onnx.ModelProto;
  /** The file's bytes; protobufjs decodes `raw_data` as views into them, so a same-size weight can be rewritten in place. */
  readonly bytes: Buffer;
  readonly file: string;
  /** Module paths, normalized (see `moduleKey`), to their weights. */
  readonly modules: ReadonlyMap<string, ModuleWeight>;
  /** Whether any MatMul node carried a module scope in its name (older exporters give none). */
  readonly scopedNodes: boolean;
  /** Module keys → the other modules their initializer also serves; fusing into one would change the others too. */
  readonly shared: SharedWeights;
}

/** The form module paths are compared in: kohya writes `down_blocks_0_attentions_0`, diffusers `down_blocks.0.attentions.0`. */
export function moduleKey(path: string): string {
  // kohya joins the path with `_` already, so the root scopes are stripped from the joined form.
  let key = path.split(/[./]/).filter((p) => p.length > 0).join('_');
  for (let stripped = true; stripped; ) {
    const root = [...ROOT_SCOPES].find((r) => key.startsWith(`${r}_`));
    stripped = root !== undefined;
    if (root) key = key.slice(root.length + 1);
  }
  return key;
}

export async function loadGraph(file: string): Promise<LoadedGraph> {
  const bytes = await readFile(file);
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph;
  if (!graph) throw new OnnxMappingError(`${file}: no graph`);
  const initializers = new Map((graph.initializer ?? []).map((t) => [t.name, t] as const));
  const modules = new Map<string, ModuleWeight>();
  let scopedNodes = false;
  const add = (weight: ModuleWeight) => {
    const key = moduleKey(weight.modulePath);
    const existing = modules.get(key);
    if (existing && existing.initializer !== weight.initializer) throw new OnnxMappingError(`${file}: two weights map to module ${weight.modulePath}`);
    modules.set(key, weight);
  };
  for (const node of graph.node ?? []) {
    if (node.opType !== 'MatMul' && node.opType !== 'Gemm' && node.opType !== 'Conv') continue;
    const weight = initializers.get(node.input?.[1] ?? '');
    const nodeName = node.name ?? '';
    const weightName = weight?.name ?? '';
    if (!weight) continue;
    const dtype = tensorDtype(weight);
    if (!dtype) continue;
    const dims = (weight.dims ?? []).map(Number);
    const nodeScope = nodeName.startsWith('/') ? nodeName.split('/').slice(1, -1).join('.') : '';
    if (node.opType === 'MatMul' && nodeScope) scopedNodes = true;
    const named = weightName.endsWith('.weight') ? weightName.slice(0, -'.weight'.length) : undefined;
    const modulePath = named ?? nodeScope;
    if (!modulePath) continue;
    const foundBy = named ? 'initializer name' : 'node scope';
    if (node.opType === 'Conv') {
      if (dims.length !== 4 || dims[2] !== 1 || dims[3] !== 1) continue; // only 1×1 convolutions are linear maps a LoRA can fuse into
      add({ modulePath, initializer: weight, layout: 'out-in', outFeatures: dims[0], inFeatures: dims[1], dtype, foundBy });
    } else if (node.opType === 'Gemm') {
      if (dims.length !== 2) continue;
      const transB = (node.attribute ?? []).find((a) => a.name === 'transB');
      const transposed = transB !== undefined && Number(transB.i) === 1;
      add({ modulePath, initializer: weight, layout: transposed ? 'out-in' : 'in-out', outFeatures: transposed ? dims[0] : dims[1], inFeatures: transposed ? dims[1] : dims[0], dtype, foundBy });
    } else {
      if (dims.length !== 2) continue;
      add({ modulePath, initializer: weight, layout: 'in-out', outFeatures: dims[1], inFeatures: dims[0], dtype, foundBy });
    }
  }
  const byInitializer = new Map<string, string[]>();
  for (const weight of modules.values()) byInitializer.set(weight.initializer.name ?? '', [...(byInitializer.get(weight.initializer.name ?? '') ?? []), weight.modulePath]);
  const shared = new Map<string, string[]>();
  for (const [key, weight] of modules) {
    const users = byInitializer.get(weight.initializer.name ?? '') ?? [];
    if (users.length > 1) shared.set(key, users.filter((u) => u !== weight.modulePath));
  }
  return { model, bytes, file, modules, scopedNodes, shared };
}

function tensorDtype(tensor: onnx.ITensorProto): 'float32' | 'float16' | undefined {
  if (tensor.dataType === onnx.TensorProto.DataType.FLOAT) return 'float32';
  if (tensor.dataType === onnx.TensorProto.DataType.FLOAT16) return 'float16';
  return undefined;
}

/** Where a weight's bytes live: inline in the protobuf, or a byte range of an external file. */
export function externalLocation(graphFile: string, tensor: onnx.ITensorProto): { file: string; relative: string; offset: number; length: number } | undefined {
  if (tensor.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) return undefined;
  const entries = new Map((tensor.externalData ?? []).map((e) => [e.key, e.value] as const));
  const location = entries.get('location');
  if (!location) throw new OnnxMappingError(`${tensor.name}: external data without a location`);
  const relative = normalize(location);
  if (relative.startsWith('..') || relative.startsWith(sep)) throw new OnnxMappingError(`${tensor.name}: external data location ${location} is outside the model's folder`);
  const elements = (tensor.dims ?? []).reduce((p: number, d) => p * Number(d), 1);
  const itemBytes = tensor.dataType === onnx.TensorProto.DataType.FLOAT16 ? 2 : 4;
  const offset = Number(entries.get('offset') ?? 0);
  const length = Number(entries.get('length') ?? elements * itemBytes);
  if (length !== elements * itemBytes) throw new OnnxMappingError(`${tensor.name}: external data length ${length} does not fit its shape`);
  return { file: join(dirname(graphFile), relative), relative, offset, length };
}

/** The weight as float32 from its bytes (raw little-endian, as ONNX stores them). */
export function bytesToFloat32(bytes: Uint8Array, dtype: 'float32' | 'float16'): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (dtype === 'float32') {
    const out = new Float32Array(bytes.byteLength / 4);
    for (let i = 0; i < out.length; i += 1) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
  const out = new Float32Array(bytes.byteLength / 2);
  for (let i = 0; i < out.length; i += 1) out[i] = fromHalfBits(view.getUint16(i * 2, true));
  return out;
}

export function float32ToBytes(values: Float32Array, dtype: 'float32' | 'float16'): Buffer {
  const out = Buffer.alloc(values.length * (dtype === 'float32' ? 4 : 2));
  if (dtype === 'float32') for (let i = 0; i < values.length; i += 1) out.writeFloatLE(values[i], i * 4);
  else for (let i = 0; i < values.length; i += 1) out.writeUInt16LE(toHalfBits(values[i]), i * 2);
  return out;
}

/** An inline weight's values as float32 (from raw_data, float_data, or fp16's int32_data). */
export function readInline(tensor: onnx.ITensorProto, dtype: 'float32' | 'float16'): Float32Array {
  if (tensor.rawData && tensor.rawData.length > 0) return bytesToFloat32(tensor.rawData, dtype);
  if (dtype === 'float32' && tensor.floatData && tensor.floatData.length > 0) return Float32Array.from(tensor.floatData);
  if (dtype === 'float16' && tensor.int32Data && tensor.int32Data.length > 0) return Float32Array.from(tensor.int32Data, (h) => fromHalfBits(h & 0xffff));
  throw new OnnxMappingError(`${tensor.name}: no data in the tensor`);
}

/**
 * Puts fused values back where they came from, in the same field and dtype. Returns true when the
 * bytes were rewritten inside `fileBytes` (raw_data decoded as a view into them), so the file can
 * be written as it was read instead of being encoded again (a second copy of a multi-GB protobuf).
 */
export function writeInline(tensor: onnx.ITensorProto, values: Float32Array, dtype: 'float32' | 'float16', fileBytes: Buffer): boolean {
  if (tensor.rawData && tensor.rawData.length > 0) {
    const fused = float32ToBytes(values, dtype);
    if (tensor.rawData.buffer === fileBytes.buffer) {
      tensor.rawData.set(fused);
      return true;
    }
    tensor.rawData = fused;
  } else if (dtype === 'float32') tensor.floatData = Array.from(values);
  else tensor.int32Data = Array.from(values, toHalfBits);
  return false;
}
