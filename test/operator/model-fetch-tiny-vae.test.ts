/**
 * `npm run model -- fetch REPO --tiny-vae REPO2`: the TAESD decoder lands in `taesd/` inside the
 * model folder, where the engine finds it, with the same checksum check and resume as the model.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StableDiffusionPipeline } from '../../container/src/engine/pipeline';
import { fetchTinyVae } from '../../operator/model/fetch-tiny-vae';
import { ORACLE_DIR, TINY_SD } from '../support/oracle';
import { runNpmScript } from '../support/run-command';
import { FakeHub, filesOf } from './support/fake-hub';

const TINY_TAESD = join(ORACLE_DIR, 'models', 'tiny-taesd');

let hub: FakeHub;
let work: string;
beforeAll(async () => {
  hub = await FakeHub.start([
    { id: 'test-org/tiny-sd', files: filesOf(TINY_SD) },
    { id: 'test-org/taesd-onnx', files: [...filesOf(TINY_TAESD), { path: 'README.md', content: Buffer.from('# taesd\n') }] },
  ]);
});
afterAll(() => hub.close());
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'tiny-vae-fetch-'));
  hub.reset();
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

it('places the tiny decoder where the engine looks, and the engine decodes with it', async () => {
  const out = join(work, 'model');
  const result = await runNpmScript('model', ['fetch', 'test-org/tiny-sd', '--tiny-vae', 'test-org/taesd-onnx', '--out', out], { HF_ENDPOINT: hub.endpoint });
  expect(result.code).toBe(0);
  expect(result.stdout).toContain(`test-org/taesd-onnx@main: tiny VAE decoder in ${join(out, 'taesd')}`);
  expect(readFileSync(join(out, 'taesd/vae_decoder/model.onnx')).equals(readFileSync(join(TINY_TAESD, 'vae_decoder/model.onnx')))).toBe(true);
  // Only what decoding needs: not the encoder, not the README.
  expect(existsSync(join(out, 'taesd/vae_encoder'))).toBe(false);
  expect(existsSync(join(out, 'taesd/README.md'))).toBe(false);
  const pipeline = await StableDiffusionPipeline.load(out, { executionProvider: 'cpu' });
  expect([pipeline.decoder, pipeline.canPreview]).toEqual(['tiny', true]);
  await pipeline.release();
});

it('resumes a broken download and refuses a repository without a decoder', async () => {
  hub.faults.set('test-org/taesd-onnx/vae_decoder/model.onnx', { breakAfter: { bytes: 50_000, times: 1 } });
  const options = { access: { endpoint: hub.endpoint }, modelDir: work, download: { retryBaseDelayMs: 0, stallTimeoutMs: 2000 } };
  const result = await fetchTinyVae({ ...options, source: { repo: 'test-org/taesd-onnx', revision: 'main' } });
  expect(result.folder).toMatchObject({ dir: join(work, 'taesd'), scalingFactor: 1 });
  const ranges = hub.downloadsOf('test-org/taesd-onnx', 'vae_decoder/model.onnx').filter((request) => request.origin === 'cdn').map((request) => request.range);
  expect(ranges[0]).toBeUndefined();
  expect(ranges[1]).toMatch(/^bytes=[1-9]\d*-$/);
  await expect(fetchTinyVae({ ...options, source: { repo: 'test-org/tiny-sd', revision: 'main' } })).rejects.toThrow(/vae_decoder\/config\.json: _class_name is "AutoencoderKL"; a tiny VAE decoder is an AutoencoderTiny/);
  await expect(fetchTinyVae({ ...options, source: { repo: 'test-org/nothing-here', revision: 'main' } })).rejects.toThrow();
});
