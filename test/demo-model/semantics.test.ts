import { existsSync } from 'node:fs';
import { StableDiffusionPipeline } from '../../container/src/engine/pipeline';
import { DEMO_MODEL } from '../support/oracle';
import { caption, COLOURS, paintsWhatWasAsked, SHAPES, type Colour } from '../support/shapes-palette';

/**
 * The bundled demo model paints what it is asked, through the real engine at the model's own
 * defaults (its generation_defaults.json): for every case the most frequent palette colour must
 * be the named background and the next the named foreground, in at least 90% of cases. The
 * committed weights measure 45 of 48 (93.8%); tools/demo-model/README.md has the other sets.
 */
const REQUIRED_ACCURACY = 0.9;
const SEEDS = [11, 29];

/** 24 combinations: every colour as foreground and as background three times, every shape eight. */
function cases(): Array<{ foreground: Colour; shape: string; background: Colour }> {
  return Array.from({ length: 24 }, (_, i) => {
    const foreground = COLOURS[i % COLOURS.length];
    const background = COLOURS[(i + 1 + Math.floor(i / COLOURS.length) * 2) % COLOURS.length];
    return { foreground, shape: SHAPES[i % SHAPES.length], background };
  });
}

describe('the bundled demo model', () => {
  let pipeline: StableDiffusionPipeline;
  beforeAll(async () => {
    pipeline = await StableDiffusionPipeline.load(DEMO_MODEL, { executionProvider: 'cpu' });
  }, 60_000);
  afterAll(() => pipeline?.release());

  it('is committed in the optimum layout with its own defaults', () => {
    for (const part of ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder']) expect(existsSync(`${DEMO_MODEL}/${part}/model.onnx`)).toBe(true);
    expect(pipeline.defaults.guidanceScale).toBeLessThan(4);
    expect(pipeline.defaults.width).toBe(64);
  });

  it('paints the named background and shape colours in at least 90% of cases', async () => {
    const all = cases();
    expect(new Set(all.map((c) => c.foreground)).size).toBe(COLOURS.length);
    expect(new Set(all.map((c) => c.background)).size).toBe(COLOURS.length);
    expect(all.every((c) => c.foreground !== c.background)).toBe(true);
    const misses: string[] = [];
    let total = 0;
    for (const seed of SEEDS) {
      for (const { foreground, shape, background } of all) {
        const prompt = caption(foreground, shape, background);
        const { images } = await pipeline.generate({ prompt, seed });
        total += 1;
        if (!paintsWhatWasAsked(images[0].pixels, foreground, background, 255)) misses.push(`${prompt} (seed ${seed})`);
      }
    }
    const accuracy = (total - misses.length) / total;
    process.stdout.write(`demo model: ${total - misses.length}/${total} right (${(accuracy * 100).toFixed(1)}%)${misses.length ? `; missed: ${misses.join('; ')}` : ''}\n`);
    expect(accuracy).toBeGreaterThanOrEqual(REQUIRED_ACCURACY);
  }, 240_000);

  it('changes the picture with the prompt: the same seed, other colours, other pixels', async () => {
    const a = await pipeline.generate({ prompt: caption('red', 'circle', 'blue'), seed: 5 });
    const b = await pipeline.generate({ prompt: caption('yellow', 'circle', 'black'), seed: 5 });
    const [x, y] = [a.images[0].pixels, b.images[0].pixels];
    let difference = 0;
    for (let i = 0; i < x.length; i++) difference += Math.abs(x[i] - y[i]);
    // Blue against black behind the shape alone moves the mean far more than this.
    expect(difference / x.length).toBeGreaterThan(0.15);
  }, 60_000);
});
