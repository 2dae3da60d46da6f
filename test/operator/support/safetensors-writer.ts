/** Writes safetensors files for tests, including malformed ones (the header is taken as given). */
import { writeFileSync } from 'node:fs';

export interface TestTensor {
  readonly dtype?: 'F32' | 'F16';
  readonly shape: number[];
  /** @default - deterministic small values */
  readonly values?: number[];
}

export function safetensorsBytes(tensors: Record<string, TestTensor>): Buffer {
  const header: Record<string, unknown> = {};
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const [name, tensor] of Object.entries(tensors)) {
    const count = tensor.shape.reduce((p, d) => p * d, 1);
    const values = tensor.values ?? Array.from({ length: count }, (_, i) => Math.sin(i + name.length) * 0.1);
    const chunk = Buffer.alloc(count * (tensor.dtype === 'F16' ? 2 : 4));
    values.forEach((v, i) => (tensor.dtype === 'F16' ? chunk.writeUInt16LE(0x3c00, i * 2) : chunk.writeFloatLE(v, i * 4)));
    header[name] = { dtype: tensor.dtype ?? 'F32', shape: tensor.shape, data_offsets: [offset, offset + chunk.length] };
    chunks.push(chunk);
    offset += chunk.length;
  }
  return withHeader(header, Buffer.concat(chunks));
}

export function withHeader(header: unknown, data: Buffer, headerLength?: bigint): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(headerLength ?? BigInt(json.length));
  return Buffer.concat([prefix, json, data]);
}

export function writeSafetensors(path: string, tensors: Record<string, TestTensor>): string {
  writeFileSync(path, safetensorsBytes(tensors));
  return path;
}
