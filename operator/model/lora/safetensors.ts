/**
 * A safetensors reader (https://github.com/huggingface/safetensors#format): an 8-byte little-endian
 * header length, a JSON header, then the tensors' bytes. Written here rather than taken from npm
 * because the format is forty lines and the packages there read the whole file into memory and
 * trust the header; a LoRA file comes from strangers, so every offset, shape and dtype is checked
 * before a byte of tensor data is read, and tensors are read one at a time from the open file.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { fromHalfBits } from '../../../container/src/engine/onnx/float16';

/** Real headers (kohya's training metadata included) are well under 1 MiB; Hugging Face's own reader stops at 100 MB. */
export const MAX_HEADER_BYTES = 8 * 1024 * 1024;

const ITEM_BYTES = { F32: 4, F16: 2, BF16: 2 } as const;
export type SafetensorsDtype = keyof typeof ITEM_BYTES;

export interface TensorInfo {
  readonly name: string;
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  /** Offsets into the data area (after the header). */
  readonly begin: number;
  readonly end: number;
}

export class SafetensorsError extends Error {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'SafetensorsError';
  }
}

export class SafetensorsFile {
  private constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private readonly dataStart: number,
    readonly tensors: ReadonlyMap<string, TensorInfo>,
    readonly metadata: Readonly<Record<string, string>>,
  ) {}

  static async open(path: string): Promise<SafetensorsFile> {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const fail = (message: string) => new SafetensorsError(path, message);
      if (size < 8) throw fail(`${size} bytes is too short for a safetensors file (8-byte header length first)`);
      const prefix = Buffer.alloc(8);
      await handle.read(prefix, 0, 8, 0);
      const headerLength = prefix.readBigUInt64LE(0);
      if (headerLength > BigInt(size - 8)) throw fail(`the header length ${headerLength} runs past the end of the ${size}-byte file; not a safetensors file, or a truncated one`);
      if (headerLength > BigInt(MAX_HEADER_BYTES)) throw fail(`the JSON header is ${headerLength} bytes, over the ${MAX_HEADER_BYTES} this reader accepts`);
      const header = Buffer.alloc(Number(headerLength));
      await handle.read(header, 0, header.length, 8);
      let parsed: unknown;
      try {
        parsed = JSON.parse(header.toString('utf8'));
      } catch (error) {
        throw fail(`the header is not JSON (${(error as Error).message})`);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw fail('the header is not a JSON object');
      const dataStart = 8 + header.length;
      const { tensors, metadata } = parseHeader(parsed as Record<string, unknown>, size - dataStart, fail);
      return new SafetensorsFile(path, handle, dataStart, tensors, metadata);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** The tensor's values as float32 (fp16 and bf16 widened). */
  async readFloat32(name: string): Promise<Float32Array> {
    const info = this.tensors.get(name);
    if (!info) throw new SafetensorsError(this.path, `no tensor ${name}`);
    const bytes = Buffer.alloc(info.end - info.begin);
    const { bytesRead } = await this.handle.read(bytes, 0, bytes.length, this.dataStart + info.begin);
    if (bytesRead !== bytes.length) throw new SafetensorsError(this.path, `${name}: the file ended early`);
    return toFloat32(bytes, info.dtype);
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

function parseHeader(header: Record<string, unknown>, dataBytes: number, fail: (message: string) => Error) {
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (typeof entry === 'object' && entry !== null && !Array.isArray(entry)) metadata = entry as Record<string, string>;
      continue;
    }
    if (typeof entry !== 'object' || entry === null) throw fail(`${name}: the header entry is not an object`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string' || !(dtype in ITEM_BYTES)) {
      throw fail(`${name}: dtype ${JSON.stringify(dtype)} is not one this reader fuses (${Object.keys(ITEM_BYTES).join(', ')})`);
    }
    if (!Array.isArray(shape) || shape.length > 8 || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw fail(`${name}: shape ${JSON.stringify(shape).slice(0, 80)} is not a list of at most 8 non-negative integers`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      throw fail(`${name}: data_offsets ${JSON.stringify(offsets)} are not [begin, end] with begin <= end`);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataBytes) throw fail(`${name}: data_offsets [${begin}, ${end}] run past the ${dataBytes} bytes of tensor data in the file`);
    // The product is checked against the byte span, which is bounded by the file; a huge shape fails here without allocating.
    const elements = (shape as number[]).reduce((product, d) => product * d, 1);
    const itemBytes = ITEM_BYTES[dtype as SafetensorsDtype];
    if (elements * itemBytes !== end - begin) {
      throw fail(`${name}: shape [${shape.join(', ')}] of ${dtype} needs ${elements * itemBytes} bytes but data_offsets span ${end - begin}`);
    }
    tensors.set(name, { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], begin, end });
  }
  const byBegin = [...tensors.values()].filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < byBegin.length; i += 1) {
    if (byBegin[i].begin < byBegin[i - 1].end) throw fail(`tensors ${byBegin[i - 1].name} and ${byBegin[i].name} overlap in the file`);
  }
  return { tensors, metadata };
}

export function toFloat32(bytes: Uint8Array, dtype: SafetensorsDtype): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / ITEM_BYTES[dtype];
  const out = new Float32Array(n);
  if (dtype === 'F32') for (let i = 0; i < n; i += 1) out[i] = view.getFloat32(i * 4, true);
  else if (dtype === 'F16') for (let i = 0; i < n; i += 1) out[i] = fromHalfBits(view.getUint16(i * 2, true));
  else {
    const u32 = new Uint32Array(1);
    const f32 = new Float32Array(u32.buffer);
    for (let i = 0; i < n; i += 1) {
      u32[0] = view.getUint16(i * 2, true) << 16;
      out[i] = f32[0];
    }
  }
  return out;
}
