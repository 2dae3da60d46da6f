/** The safety checker on the command line: `npm run generate` withholding, and `npm run check-image` as independent checks call it. */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ORACLE_DIR, TINY_SD_SAFETY } from '../support/oracle';
import { runNpmScript } from '../support/run-command';

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'cli-safety-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const generate = ['--model', TINY_SD_SAFETY, '--prompt', 'a cat', '--steps', '2', '--num-images', '2', '--seed', '3', '--execution-provider', 'cpu'];

describe('npm run generate on a model with a safety checker', () => {
  it('prints a withheld line per flagged image and writes no file for it', async () => {
    const out = join(scratch, 'checked.png');
    const result = await runNpmScript('generate', [...generate, '--out', out]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(lines).toEqual([expect.objectContaining({ seed: 3, withheld: 'safety' }), expect.objectContaining({ seed: 4, withheld: 'safety' })]);
    expect(lines.some((line) => 'file' in line)).toBe(false);
    expect(existsSync(join(scratch, 'checked-1.png')) || existsSync(join(scratch, 'checked-2.png'))).toBe(false);
  });

  it('returns every image with --safety-checker off, and warns that there is no filter', async () => {
    const out = join(scratch, 'unchecked.png');
    const result = await runNpmScript('generate', [...generate, '--out', out, '--safety-checker', 'off']);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/warning: the safety checker is turned off/);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((line) => [line.file, line.seed])).toEqual([[join(scratch, 'unchecked-1.png'), 3], [join(scratch, 'unchecked-2.png'), 4]]);
    expect(readFileSync(join(scratch, 'unchecked-2.png')).subarray(1, 4).toString('latin1')).toBe('PNG');
  });

  it('refuses an unknown --safety-checker value', async () => {
    const result = await runNpmScript('generate', [...generate, '--safety-checker', 'strict']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--safety-checker must be one of model, off but is "strict"/);
  });
});

describe('npm run check-image', () => {
  const safety = JSON.parse(readFileSync(join(ORACLE_DIR, 'reference', 'safety.json'), 'utf8'));
  const flagged = safety.cases.find((c: { has_nsfw_concept: boolean }) => c.has_nsfw_concept);
  const passed = safety.cases.find((c: { has_nsfw_concept: boolean }) => !c.has_nsfw_concept);

  it.each([
    ['flagged', flagged],
    ['passed', passed],
  ])('prints one JSON line for a %s picture and exits 0', async (_, c) => {
    const image = join(ORACLE_DIR, 'reference', c.image.file);
    const result = await runNpmScript('check-image', ['--model', TINY_SD_SAFETY, '--image', image, '--execution-provider', 'cpu']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(result.stdout)).toEqual({ image, width: c.image.width, height: c.image.height, has_nsfw_concept: c.has_nsfw_concept });
  });

  it('names what a model folder without a checker lacks', async () => {
    const result = await runNpmScript('check-image', ['--model', join(ORACLE_DIR, 'models', 'tiny-sd'), '--image', join(ORACLE_DIR, 'reference', flagged.image.file)]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--model: .*tiny-sd has no safety_checker\/model\.onnx/);
  });
});
