/**
 * `npm run generate -- --tiny-vae TAESD_DIR` with exactly the flags independent checks call: a
 * `tiny-vae.json` generation reproduced from its noise files, and a folder that is not a tiny VAE
 * refused with its file named.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { maxAbsDiff, readFloat32, readReference, referenceFile, TINY_SD, TINY_TAESD } from '../support/oracle';
import { runNpmScript } from '../support/run-command';


let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'cli-tiny-vae-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

it('reproduces a tiny-vae.json case', async () => {
  type Ref = { file: string; dtype: 'float32'; shape: number[] };
  type Case = { id: string; prompt: string; negative_prompt: string; scheduler: string; steps: number; guidance_scale: number; width: number; height: number; initial_noise: Ref; image_float: Ref };
  const { cases } = readReference('tiny-vae.json') as { cases: Case[] };
  const c = cases.find((candidate) => candidate.id === 'tiny-vae-ddim-wide')!;
  const raw = join(scratch, 'image.f32');
  const result = await runNpmScript('generate', [
    '--model', TINY_SD, '--tiny-vae', TINY_TAESD, '--prompt', c.prompt, '--negative-prompt', c.negative_prompt,
    '--scheduler', c.scheduler, '--steps', String(c.steps), '--guidance-scale', String(c.guidance_scale),
    '--width', String(c.width), '--height', String(c.height), '--initial-noise', referenceFile(c.initial_noise.file),
    '--raw-out', raw, '--out', join(scratch, 'image.png'),
  ]);
  expect(result.stderr).toMatch(/tiny VAE decoder/);
  expect(result.code).toBe(0);
  const bytes = readFileSync(raw);
  expect(maxAbsDiff(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4), readFloat32(c.image_float))).toBeLessThan(1e-3);
});

it('refuses a --tiny-vae folder without a decoder, naming the file it looked for', async () => {
  const result = await runNpmScript('generate', ['--model', TINY_SD, '--tiny-vae', join(scratch, 'missing'), '--prompt', 'x', '--steps', '1', '--out', join(scratch, 'x.png')]);
  expect(result.code).not.toBe(0);
  expect(result.stderr).toMatch(/missing is missing vae_decoder\/model\.onnx/);
});
