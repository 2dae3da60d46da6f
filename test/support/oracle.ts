/** Reads the diffusers oracle fixtures (see test/fixtures/oracle/README.md). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SchedulerName } from '../../contract/limits';

export const ORACLE_DIR = join(__dirname, '..', 'fixtures', 'oracle');
export const TINY_SD = join(ORACLE_DIR, 'models', 'tiny-sd');
export const TINY_SD_LEGACY = join(ORACLE_DIR, 'models', 'tiny-sd-legacy');
export const TINY_LCM = join(ORACLE_DIR, 'models', 'tiny-lcm');
export const TINY_SD_FP16_EXTERNAL = join(__dirname, '..', 'fixtures', 'models', 'tiny-sd-fp16-external');

interface ArrayRef {
  readonly file: string;
  readonly dtype: 'float32' | 'uint8';
  readonly shape: number[];
}

export interface OracleCase {
  readonly id: string;
  readonly scheduler: SchedulerName;
  readonly steps: number;
  readonly guidance_scale: number;
  readonly height: number;
  readonly width: number;
  readonly prompt: string;
  readonly negative_prompt: string;
  readonly noise_seed: number;
  readonly initial_noise: ArrayRef;
  readonly step_noise?: ArrayRef;
  readonly timesteps: number[];
  readonly latents_per_step: ArrayRef;
  readonly image_float: ArrayRef;
  readonly image_uint8: ArrayRef;
}

export function oracleCases(): OracleCase[] {
  return JSON.parse(readFileSync(join(ORACLE_DIR, 'reference', 'cases.json'), 'utf8')).cases;
}

export function readReference(name: string): unknown {
  return JSON.parse(readFileSync(join(ORACLE_DIR, 'reference', name), 'utf8'));
}

export function readFloat32(ref: ArrayRef): Float32Array {
  const bytes = readFileSync(join(ORACLE_DIR, 'reference', ref.file));
  const out = new Float32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export function readUint8(ref: ArrayRef): Uint8Array {
  return new Uint8Array(readFileSync(join(ORACLE_DIR, 'reference', ref.file)));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i] - b[i]));
  return max;
}
