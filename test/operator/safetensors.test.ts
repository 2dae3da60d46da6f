/**
 * The safetensors reader against hostile files: each is refused with a message that says what is
 * wrong, before any tensor data is read, and no claimed size is ever allocated.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loraModules } from '../../operator/model/lora/lora-file';
import { fromHalfBits as halfToFloat, toHalfBits as floatToHalf } from '../../container/src/engine/onnx/float16';
import { MAX_HEADER_BYTES, SafetensorsFile } from '../../operator/model/lora/safetensors';
import { safetensorsBytes, withHeader } from './support/safetensors-writer';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'safetensors-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function fileWith(name: string, bytes: Buffer): string {
  const path = join(work, name);
  writeFileSync(path, bytes);
  return path;
}

const TENSOR = { dtype: 'F32', shape: [2, 2], data_offsets: [0, 16] };

describe('hostile safetensors files', () => {
  it.each([
    ['a header length beyond the file', withHeader({ a: TENSOR }, Buffer.alloc(16), 1n << 40n), /header length 1099511627776 runs past the end/],
    ['a file too short for the length', Buffer.alloc(5), /too short/],
    ['a header that is not JSON', Buffer.concat([Buffer.from([4, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('{{{{')]), /not JSON/],
    ['offsets past the data', withHeader({ a: { ...TENSOR, data_offsets: [0, 1 << 30] } }, Buffer.alloc(16)), /data_offsets \[0, 1073741824\] run past the 16 bytes/],
    ['negative offsets', withHeader({ a: { ...TENSOR, data_offsets: [-4, 12] } }, Buffer.alloc(16)), /data_offsets \[-4,12\] are not/],
    [
      'overlapping tensors',
      withHeader({ a: TENSOR, b: { ...TENSOR, data_offsets: [8, 24] } }, Buffer.alloc(24)),
      /tensors a and b overlap/,
    ],
    ['an absurd shape', withHeader({ a: { ...TENSOR, shape: [1e15, 1e15] } }, Buffer.alloc(16)), /needs .* bytes but data_offsets span 16/],
    ['a dtype the shape does not fit', withHeader({ a: { ...TENSOR, dtype: 'F16' } }, Buffer.alloc(16)), /shape \[2, 2\] of F16 needs 8 bytes but data_offsets span 16/],
    ['a dtype it cannot fuse', withHeader({ a: { ...TENSOR, dtype: 'I64' } }, Buffer.alloc(16)), /dtype "I64" is not one this reader fuses/],
    ['a non-integer shape', withHeader({ a: { ...TENSOR, shape: [2.5, 2] } }, Buffer.alloc(16)), /not a list of at most 8 non-negative integers/],
  ])('refuses %s', async (_what, bytes, message) => {
    const path = fileWith('hostile.safetensors', bytes);
    await expect(SafetensorsFile.open(path)).rejects.toThrow(message);
  });

  it('refuses a JSON header of many megabytes without parsing it', async () => {
    const padding = 'x'.repeat(MAX_HEADER_BYTES + 1024 * 1024);
    const path = fileWith('big-header.safetensors', withHeader({ __metadata__: { padding }, a: TENSOR }, Buffer.alloc(16)));
    const before = process.memoryUsage().heapUsed;
    await expect(SafetensorsFile.open(path)).rejects.toThrow(/the JSON header is 9437\d+ bytes, over the 8388608/);
    // The refusal comes from the 8-byte length alone: the header is never read into a string.
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(8 * 1024 * 1024);
  });

  it('refuses a LoRA whose rank disagrees between down and up', async () => {
    const path = fileWith(
      'rank.safetensors',
      safetensorsBytes({
        'lora_unet_mid_block_attentions_0_proj_in.lora_down.weight': { shape: [4, 64] },
        'lora_unet_mid_block_attentions_0_proj_in.lora_up.weight': { shape: [64, 8] },
      }),
    );
    const file = await SafetensorsFile.open(path);
    try {
      expect(() => loraModules(file)).toThrow(/lora_unet_mid_block_attentions_0_proj_in: the rank disagrees: down is \[4, 64\] \(rank 4\) but up is \[64, 8\] \(rank 8\)/);
    } finally {
      await file.close();
    }
  });

  it('refuses a LoRA on a 3×3 convolution and a module missing its up matrix', async () => {
    const conv = fileWith('conv.safetensors', safetensorsBytes({ 'lora_unet_conv_in.lora_down.weight': { shape: [4, 4, 3, 3] }, 'lora_unet_conv_in.lora_up.weight': { shape: [32, 4, 1, 1] } }));
    const lonely = fileWith('lonely.safetensors', safetensorsBytes({ 'unet.mid_block.attentions.0.proj_in.lora_A.weight': { shape: [4, 64] } }));
    for (const [path, message] of [
      [conv, /only linear layers and 1×1 convolutions are fused/],
      [lonely, /has a down matrix but no up matrix/],
    ] as const) {
      const file = await SafetensorsFile.open(path);
      try {
        expect(() => loraModules(file)).toThrow(message);
      } finally {
        await file.close();
      }
    }
  });
});

describe('reading tensors', () => {
  it('widens fp16 and bf16 to float32', async () => {
    const data = Buffer.alloc(8 + 4);
    data.writeUInt16LE(0x3c00, 0); // fp16 1
    data.writeUInt16LE(0xc000, 2); // fp16 -2
    data.writeUInt16LE(0x3fc0, 4); // bf16 1.5
    data.writeUInt16LE(0xc0a0, 6); // bf16 -5
    data.writeFloatLE(0.25, 8);
    const header = {
      half: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
      brain: { dtype: 'BF16', shape: [1, 2], data_offsets: [4, 8] },
      full: { dtype: 'F32', shape: [], data_offsets: [8, 12] },
    };
    const file = await SafetensorsFile.open(fileWith('dtypes.safetensors', withHeader(header, data)));
    try {
      expect(Array.from(await file.readFloat32('half'))).toEqual([1, -2]);
      expect(Array.from(await file.readFloat32('brain'))).toEqual([1.5, -5]);
      expect(Array.from(await file.readFloat32('full'))).toEqual([0.25]);
    } finally {
      await file.close();
    }
  });
});

describe('half precision', () => {
  it('rounds float32 to fp16 to nearest even and back', () => {
    for (const h of [0x0000, 0x3c00, 0xbc00, 0x0001, 0x03ff, 0x7bff, 0x3555, 0xc800]) expect(floatToHalf(halfToFloat(h))).toBe(h);
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // halfway, to even
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(floatToHalf(1e6)).toBe(0x7c00);
  });
});
