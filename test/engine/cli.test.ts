/** The engine's command line as people and our checks use it: `npm run generate` and `npm run tokenize`. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_MODEL, maxAbsDiff, oracleCases, ORACLE_DIR, readFloat32, readReference, TINY_SD } from '../support/oracle';
import { pngSize } from '../support/http';
import { runNpmScript } from '../support/run-command';

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'cli-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('npm run generate', () => {
  it('reproduces an oracle case from its noise files, writing the PNG and the raw float image', async () => {
    const c = oracleCases().find((candidate) => candidate.id === 'euler-a')!;
    const out = join(scratch, 'euler-a.png');
    const raw = join(scratch, 'euler-a.f32');
    const result = await runNpmScript('generate', [
      '--model', TINY_SD, '--prompt', c.prompt, '--scheduler', c.scheduler, '--steps', String(c.steps),
      '--guidance-scale', String(c.guidance_scale), '--width', String(c.width), '--height', String(c.height),
      '--initial-noise', join(ORACLE_DIR, 'reference', c.initial_noise.file),
      '--step-noise', join(ORACLE_DIR, 'reference', c.step_noise!.file),
      '--out', out, '--raw-out', raw, '--execution-provider', 'cpu',
    ]);
    expect(result.stderr).toMatch(/step 10\/10/);
    expect(result.code).toBe(0);
    expect(pngSize(readFileSync(out))).toEqual({ width: 64, height: 64 });
    const bytes = readFileSync(raw);
    const pixels = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    expect(maxAbsDiff(pixels, readFloat32(c.image_float))).toBeLessThan(1e-3);
    expect(JSON.parse(result.stdout.trim())).toMatchObject({ file: out, width: 64, height: 64, scheduler: 'euler_ancestral', steps: 10 });
  });

  it('writes one numbered file per image with consecutive seeds', async () => {
    const out = join(scratch, 'batch.webp');
    const result = await runNpmScript('generate', ['--model', TINY_SD, '--prompt', 'a kite', '--steps', '2', '--num-images', '2', '--seed', '5', '--out', out]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((line) => [line.file, line.seed])).toEqual([[join(scratch, 'batch-1.webp'), 5], [join(scratch, 'batch-2.webp'), 6]]);
    expect(readFileSync(join(scratch, 'batch-2.webp')).subarray(8, 12).toString('latin1')).toBe('WEBP');
  });

  it.each([
    [['--model', TINY_SD], /--prompt is required/],
    [['--model', TINY_SD, '--prompt', 'x', '--steps', 'ten'], /--steps must be an integer but is "ten"/],
    [['--model', TINY_SD, '--prompt', 'x', '--width', '100'], /--width must be a multiple of 8 but is 100/],
    [['--model', TINY_SD, '--prompt', 'x', '--scheduler', 'heun'], /--scheduler must be one of pndm, ddim/],
    [['--model', TINY_SD, '--prompt', 'x', '--out', 'image.gif'], /--out must end in .png, .jpg, .jpeg or .webp/],
    [['--model', TINY_SD, '--prompt', 'x', '--colour', 'red'], /Unknown option '--colour'/],
    [['--model', TINY_SD, '--prompt', 'x', '--initial-noise', '/nonexistent/noise.f32'], /--initial-noise: cannot read \/nonexistent\/noise\.f32: ENOENT/],
  ])('exits 2 with a one-line error for %j', async (args, message) => {
    const result = await runNpmScript('generate', args);
    expect(result.code).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(message);
  });

  it('paints with the bundled demo model at its own defaults when no --model is given', async () => {
    const out = join(scratch, 'demo.png');
    const result = await runNpmScript('generate', ['--prompt', 'a yellow circle on a blue background', '--seed', '3', '--out', out]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(join('models', 'shapes-demo'));
    const demoDefaults = JSON.parse(readFileSync(join(DEMO_MODEL, 'generation_defaults.json'), 'utf8'));
    expect(JSON.parse(result.stdout.trim())).toMatchObject({ file: out, width: demoDefaults.width, height: demoDefaults.height, steps: demoDefaults.num_inference_steps });
    expect(pngSize(readFileSync(out))).toEqual({ width: demoDefaults.width, height: demoDefaults.height });
  });

  it('exits 1 naming the problem when the model folder is unusable', async () => {
    const result = await runNpmScript('generate', ['--model', join(scratch, 'no-model'), '--prompt', 'x', '--out', join(scratch, 'x.png')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/model folder .*no-model does not exist/);
  });

  it('refuses noise files of the wrong size', async () => {
    const noise = join(scratch, 'short.f32');
    writeFileSync(noise, Buffer.alloc(40));
    const result = await runNpmScript('generate', ['--model', TINY_SD, '--prompt', 'x', '--initial-noise', noise, '--out', join(scratch, 'y.png')]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/initial noise must have 256 values/);
  });
});

describe('npm run tokenize', () => {
  it('uses the bundled demo model\'s tokenizer (the real CLIP one) when no --model is given', async () => {
    const [reference] = (readReference('tokenizer.json') as { cases: Array<{ prompt: string; input_ids: number[] }> }).cases;
    const result = await runNpmScript('tokenize', ['--prompt', reference.prompt]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(reference.input_ids);
  });

  it('prints the 77 ids as a JSON array', async () => {
    const reference = readReference('tokenizer.json') as { cases: Array<{ prompt: string; input_ids: number[] }> };
    const c = reference.cases[1];
    const result = await runNpmScript('tokenize', ['--model', TINY_SD, '--prompt', c.prompt]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(c.input_ids);
  });
});
