/**
 * `npm run generate` for few-step LCM and image-to-image, with exactly the flags the oracle checks
 * and independent checks call, and its refusals: one line naming the flag, exit code 2.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { TorchCompatibleRandn } from '../../container/src/engine/noise/torch-compatible-randn';
import { img2imgCases, lcmCases, maxAbsDiff, readFloat32, referenceFile, TINY_LCM, TINY_SD, TINY_SD_LEGACY } from '../support/oracle';
import { runNpmScript } from '../support/run-command';

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'cli-lcm-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function rawImage(file: string): Float32Array {
  const bytes = readFileSync(file);
  return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
}

const PICTURE = referenceFile('i2i-pndm.init.png');

describe('npm run generate with LCM', () => {
  it('reproduces an lcm.json case of the distilled model from its noise files', async () => {
    const c = lcmCases().find((candidate) => candidate.id === 'lcm-4')!;
    const raw = join(scratch, 'lcm-4.f32');
    const result = await runNpmScript('generate', [
      '--model', TINY_LCM, '--prompt', c.prompt, '--scheduler', 'lcm', '--steps', String(c.steps),
      '--guidance-scale', String(c.guidance_scale), '--initial-noise', referenceFile(c.initial_noise.file),
      '--step-noise', referenceFile(c.step_noise.file), '--raw-out', raw, '--out', join(scratch, 'lcm-4.png'), '--execution-provider', 'cpu',
    ]);
    expect(result.stderr).toMatch(/step 4\/4/);
    expect(result.code).toBe(0);
    expect(maxAbsDiff(rawImage(raw), readFloat32(c.image_float))).toBeLessThan(1e-3);
    expect(JSON.parse(result.stdout.trim())).toMatchObject({ scheduler: 'lcm', steps: 4, width: 64, height: 64 });
  });
});

describe('npm run generate from an init image', () => {
  it('reproduces an img2img.json case from its picture and noise files', async () => {
    const c = img2imgCases().find((candidate) => candidate.id === 'i2i-ddim-light')!;
    const raw = join(scratch, 'i2i.f32');
    const result = await runNpmScript('generate', [
      '--model', TINY_SD, '--prompt', c.prompt, '--negative-prompt', c.negative_prompt ?? '', '--scheduler', c.scheduler,
      '--steps', String(c.steps), '--guidance-scale', String(c.guidance_scale),
      '--init-image', referenceFile(c.init_image.file), '--strength', String(c.strength),
      '--encoder-noise', referenceFile(c.encoder_noise.file), '--initial-noise', referenceFile(c.initial_noise.file),
      '--raw-out', raw, '--out', join(scratch, 'i2i.png'), '--execution-provider', 'cpu',
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/step 3\/3/);
    expect(maxAbsDiff(rawImage(raw), readFloat32(c.image_float))).toBeLessThan(1e-3);
    expect(JSON.parse(result.stdout.trim())).toMatchObject({ width: 128, height: 64, strength: c.strength });
  });

  it('lets the seed drive both the encoder noise and the noise at the first timestep, in that order', async () => {
    const generator = new TorchCompatibleRandn(21);
    const [encoder, initial] = [join(scratch, 'encoder.f32'), join(scratch, 'initial.f32')];
    writeFileSync(encoder, generator.randn([1, 4, 8, 8]));
    writeFileSync(initial, generator.randn([1, 4, 8, 8]));
    const common = ['--model', TINY_SD, '--prompt', 'a sunset', '--steps', '4', '--scheduler', 'ddim', '--init-image', PICTURE, '--strength', '0.5'];
    const [seeded, replayed] = await Promise.all([
      runNpmScript('generate', [...common, '--seed', '21', '--raw-out', join(scratch, 'seeded.f32'), '--out', join(scratch, 'seeded.png')]),
      runNpmScript('generate', [...common, '--encoder-noise', encoder, '--initial-noise', initial, '--raw-out', join(scratch, 'replayed.f32'), '--out', join(scratch, 'replayed.png')]),
    ]);
    expect([seeded.code, replayed.code]).toEqual([0, 0]);
    expect(maxAbsDiff(rawImage(join(scratch, 'seeded.f32')), rawImage(join(scratch, 'replayed.f32')))).toBe(0);
  });
});

describe('refusals', () => {
  let notAnImage: string;
  let tooManyPixels: string;
  beforeAll(async () => {
    notAnImage = join(scratch, 'notes.png');
    writeFileSync(notAnImage, 'these are notes, not a picture');
    tooManyPixels = join(scratch, 'huge.png');
    writeFileSync(tooManyPixels, await sharp({ create: { width: 1100, height: 1000, channels: 3, background: 'white' } }).png().toBuffer());
  });

  it.each<[string, () => string[], RegExp]>([
    ['a file that is no image', () => ['--model', TINY_SD, '--init-image', notAnImage], /--init-image: .*notes\.png: init_image must be a PNG, JPEG or WebP image/],
    ['too many pixels', () => ['--model', TINY_SD, '--init-image', tooManyPixels], /--init-image: .*1100 × 1000 = 1100000 pixels; at most 1048576/],
    ['a missing file', () => ['--model', TINY_SD, '--init-image', '/nonexistent/picture.png'], /--init-image: cannot read \/nonexistent\/picture\.png: ENOENT/],
    ['strength 0', () => ['--model', TINY_SD, '--init-image', PICTURE, '--strength', '0'], /--strength must be greater than 0 and at most 1 but is 0/],
    ['strength 1.5', () => ['--model', TINY_SD, '--init-image', PICTURE, '--strength', '1.5'], /--strength must be between 0 and 1 but is 1.5/],
    ['strength without an init image', () => ['--model', TINY_SD, '--strength', '0.5'], /--strength needs --init-image/],
    ['encoder noise without an init image', () => ['--model', TINY_SD, '--encoder-noise', PICTURE], /--encoder-noise needs --init-image/],
    ['a negative prompt for a distilled model', () => ['--model', TINY_LCM, '--negative-prompt', 'blurry'], /--negative-prompt: this model is LCM-distilled/],
    ['an init image for a model without VAE encoder', () => ['--model', TINY_SD_LEGACY, '--init-image', PICTURE], /--init-image: this model has no VAE encoder/],
    ['more LCM steps than its schedule has', () => ['--model', TINY_LCM, '--steps', '60'], /--steps: .*at most original_inference_steps \(50\)/],
  ])('exits 2 with one line for %s', async (_what, args, message) => {
    const result = await runNpmScript('generate', [...args(), '--prompt', 'x', '--out', join(scratch, 'refused.png'), '--execution-provider', 'cpu']);
    expect(result.code).toBe(2);
    expect(result.stderr.trimEnd().split('\n').filter((line) => !/^(loading|loaded) /.test(line))).toHaveLength(1);
    expect(result.stderr).toMatch(message);
  });
});
