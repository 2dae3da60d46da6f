import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fetchModel, type FetchModelOptions } from '../../operator/model/fetch-model';
import { selectModelFiles } from '../../operator/model/model-files';
import { PARTIAL_SUFFIX } from '../../operator/model/resumable-download';
import { SILENT_PROGRESS, TransferProgress } from '../../operator/model/transfer-progress';
import { TINY_SD, TINY_SD_FP16_EXTERNAL, TINY_SD_LEGACY, TINY_SD_SAFETY } from '../support/oracle';
import { runNpmScript } from '../support/run-command';
import { FakeHub, filesOf, gitBlobSha1, type FakeFile } from './support/fake-hub';

const bytes = (size: number) => randomBytes(size);

/** What a real export repository carries besides the engine's files. */
const EXTRAS: FakeFile[] = [
  { path: 'README.md', content: Buffer.from('# tiny\n') },
  { path: '.gitattributes', content: Buffer.from('*.onnx filter=lfs\n') },
  { path: 'unet/diffusion_pytorch_model.safetensors', content: bytes(40_000) },
  { path: 'text_encoder/pytorch_model.bin', content: bytes(30_000) },
  { path: 'unet/model_fp16.onnx', content: bytes(20_000) },
  { path: 'unet/model_fp16.onnx_data', content: bytes(20_000) },
  { path: 'safety_checker/model.onnx', content: bytes(25_000) },
  { path: 'safety_checker/config.json', content: Buffer.from('{}') },
  { path: 'feature_extractor/preprocessor_config.json', content: Buffer.from('{}') },
];
const LEGACY_WEIGHTS: FakeFile = { path: 'unet/weights.pb', content: bytes(200_000) };

let hub: FakeHub;
let work: string;

beforeAll(async () => {
  hub = await FakeHub.start(
    [
      { id: 'test-org/tiny-sd-fp16', files: [...filesOf(TINY_SD_FP16_EXTERNAL), ...EXTRAS] },
      { id: 'CompVis-test/tiny-sd-legacy', revision: 'onnx', files: [...filesOf(TINY_SD_LEGACY), LEGACY_WEIGHTS] },
      { id: 'test-org/tiny-sd', files: filesOf(TINY_SD) },
      { id: 'test-org/tiny-sd-safety', files: filesOf(TINY_SD_SAFETY) },
      { id: 'test-org/pytorch-only', files: [{ path: 'model_index.json', content: Buffer.from('{}') }, EXTRAS[2]] },
      { id: 'test-org/gated', files: filesOf(TINY_SD), token: 'hf_secret' },
    ],
    // Small pages, so the listing has to follow the Link header like the real Hub's.
    { pageSize: 7 },
  );
});
afterAll(() => hub.close());
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'model-fetch-'));
  hub.reset();
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

function options(repo: string, revision = 'main', extra: Partial<FetchModelOptions> = {}): FetchModelOptions {
  return {
    source: { repo, revision },
    access: { endpoint: hub.endpoint },
    outDir: join(work, 'model'),
    download: { retryBaseDelayMs: 0, stallTimeoutMs: 2000 },
    ...extra,
  };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

describe('fetch', () => {
  test('takes the engine\'s files of an fp16 export with external weights, byte for byte, and nothing else', async () => {
    const result = await fetchModel(options('test-org/tiny-sd-fp16'));
    const out = join(work, 'model');
    expect(filesUnder(out)).toEqual(filesUnder(TINY_SD_FP16_EXTERNAL));
    for (const path of filesUnder(TINY_SD_FP16_EXTERNAL)) {
      expect(readFileSync(join(out, path)).equals(readFileSync(join(TINY_SD_FP16_EXTERNAL, path)))).toBe(true);
    }
    expect(result.outcomes).toEqual({ downloaded: filesUnder(TINY_SD_FP16_EXTERNAL).length, resumed: 0, unchanged: 0 });
    expect(result.skipped).toBe(EXTRAS.length);
    // The engine's own check ran on the folder.
    expect(result.folder).toMatchObject({ dir: out, unetFile: join(out, 'unet/model.onnx'), sizeMultiple: 16 });
    // LFS files came through the CDN redirect; the listing took several pages.
    expect(hub.requests.filter((request) => request.origin === 'cdn').map((request) => request.file)).toContain('test-org/tiny-sd-fp16/unet/model.onnx_data');
    expect(hub.requests.filter((request) => request.url.includes('/tree/')).length).toBeGreaterThan(1);
  });

  test('takes the safety checker when model_index.json requires one, and the engine then runs it', async () => {
    const result = await fetchModel(options('test-org/tiny-sd-safety'));
    expect(filesUnder(join(work, 'model'))).toEqual(filesUnder(TINY_SD_SAFETY));
    expect(result.safetyChecker).toEqual({ taken: true, required: true });
    expect(result.folder.safetyChecker).toMatchObject({ model: join(work, 'model', 'safety_checker/model.onnx'), required: true });
  });

  test('--without-safety-checker skips a required checker, and says so', async () => {
    const notes: string[] = [];
    const progress = () => ({ ...SILENT_PROGRESS, note: (line: string) => notes.push(line) });
    const result = await fetchModel(options('test-org/tiny-sd-safety', 'main', { safetyChecker: 'never', progress }));
    expect(filesUnder(join(work, 'model')).filter((file) => /safety_checker|feature_extractor/.test(file))).toEqual([]);
    expect(result.safetyChecker).toEqual({ taken: false, required: true });
    expect(notes.join('\n')).toMatch(/model_index\.json requires a safety checker and it was not taken/);
  });

  test('leaves out a checker the model does not require, unless asked for it', async () => {
    await fetchModel(options('test-org/tiny-sd-fp16'));
    expect(filesUnder(join(work, 'model')).filter((file) => /safety_checker/.test(file))).toEqual([]);
    rmSync(join(work, 'model'), { recursive: true });
    await fetchModel(options('test-org/tiny-sd-fp16', 'main', { safetyChecker: 'always' }));
    const files = filesUnder(join(work, 'model'));
    expect(files).toEqual(expect.arrayContaining(['safety_checker/model.onnx', 'safety_checker/config.json', 'feature_extractor/preprocessor_config.json']));
    expect(files.filter((file) => /safetensors|\.bin$|fp16|README/.test(file))).toEqual([]);
  });

  test('a legacy export on a named revision, with its weights.pb', async () => {
    await fetchModel(options('CompVis-test/tiny-sd-legacy', 'onnx'));
    expect(filesUnder(join(work, 'model'))).toEqual([...filesUnder(TINY_SD_LEGACY), 'unet/weights.pb'].sort());
    expect(readFileSync(join(work, 'model/unet/weights.pb')).equals(LEGACY_WEIGHTS.content)).toBe(true);
    expect(hub.requests.every((request) => request.origin === 'cdn' || request.url.includes('/onnx'))).toBe(true);
  });

  test('a connection that breaks off mid-file is resumed from the bytes written, never from zero', async () => {
    const size = statSync(join(TINY_SD, 'text_encoder/model.onnx')).size;
    hub.faults.set('test-org/tiny-sd/text_encoder/model.onnx', { breakAfter: { bytes: 1_500_000, times: 2 } });
    const lines: string[] = [];
    const result = await fetchModel(options('test-org/tiny-sd', 'main', { progress: (total) => new TransferProgress({ write: (text) => lines.push(text) }, total) }));
    expect(result.outcomes.downloaded).toBe(filesUnder(TINY_SD).length);
    const starts = hub
      .downloadsOf('test-org/tiny-sd', 'text_encoder/model.onnx')
      .filter((request) => request.origin === 'cdn')
      .map((request) => Number(/^bytes=(\d+)-$/.exec(request.range ?? 'bytes=0-')![1]));
    expect(starts).toHaveLength(3);
    expect(starts[0]).toBe(0);
    // Each retry asks for what is not on disk yet; only bytes in flight when the line broke
    // (fetch's stream buffer, at most 1.5 MB sent per break) come again.
    expect(starts[1]).toBeGreaterThan(1_000_000);
    expect(starts[2]).toBeGreaterThan(starts[1] + 1_000_000);
    expect(hub.bytesServed.get('test-org/tiny-sd/text_encoder/model.onnx')).toBe(size + 3_000_000 - starts[2]);
    expect(readFileSync(join(work, 'model/text_encoder/model.onnx')).equals(readFileSync(join(TINY_SD, 'text_encoder/model.onnx')))).toBe(true);
    expect(lines.join('')).toContain(`text_encoder/model.onnx: the connection broke off (UND_ERR_SOCKET); continuing from byte ${starts[1]} in 0.0 s`);
  });

  test('a stalled response is cut off and resumed', async () => {
    hub.faults.set('test-org/tiny-sd/unet/model.onnx', { stallAfter: { bytes: 1_000_000, times: 1 } });
    await fetchModel(options('test-org/tiny-sd', 'main', { download: { retryBaseDelayMs: 0, stallTimeoutMs: 300 } }));
    const ranges = hub.downloadsOf('test-org/tiny-sd', 'unet/model.onnx').filter((request) => request.origin === 'cdn').map((request) => request.range);
    expect(ranges).toEqual([undefined, 'bytes=1000000-']);
    expect(readFileSync(join(work, 'model/unet/model.onnx')).equals(readFileSync(join(TINY_SD, 'unet/model.onnx')))).toBe(true);
  });

  test('a rerun continues a partial file left by an interrupted run, and keeps verified files', async () => {
    hub.faults.set('test-org/tiny-sd/text_encoder/model.onnx', { breakAfter: { bytes: 2_000_000, times: 1 } });
    await expect(fetchModel(options('test-org/tiny-sd', 'main', { download: { maxRetries: 0, retryBaseDelayMs: 0 } }))).rejects.toThrow(
      /1 of \d+ files failed: text_encoder\/model\.onnx: failed 1 time in a row \(the connection broke off \(UND_ERR_SOCKET\)\); \d+ of 6438458 bytes are kept, run the command again to continue/,
    );
    const kept = statSync(join(work, 'model/text_encoder/model.onnx' + PARTIAL_SUFFIX)).size;
    expect(kept).toBeGreaterThan(1_000_000);
    expect(kept).toBeLessThanOrEqual(2_000_000);
    hub.requests.length = 0;

    const rerun = await fetchModel(options('test-org/tiny-sd'));
    expect(rerun.outcomes).toEqual({ downloaded: 0, resumed: 1, unchanged: filesUnder(TINY_SD).length - 1 });
    expect(hub.requests.filter((request) => request.file).map((request) => [request.file, request.range])).toEqual([
      ['test-org/tiny-sd/text_encoder/model.onnx', `bytes=${kept}-`],
      ['test-org/tiny-sd/text_encoder/model.onnx', `bytes=${kept}-`],
    ]);
    expect(existsSync(join(work, 'model/text_encoder/model.onnx' + PARTIAL_SUFFIX))).toBe(false);
    expect(readFileSync(join(work, 'model/text_encoder/model.onnx')).equals(readFileSync(join(TINY_SD, 'text_encoder/model.onnx')))).toBe(true);
  });

  test('a corrupt file is deleted and named; the other files still arrive', async () => {
    const good = readFileSync(join(TINY_SD, 'vae_decoder/model.onnx'));
    const corrupt = Buffer.from(good);
    corrupt[1000] ^= 0xff;
    hub.faults.set('test-org/tiny-sd/vae_decoder/model.onnx', { corruptWith: corrupt });
    await expect(fetchModel(options('test-org/tiny-sd'))).rejects.toThrow(
      /1 of \d+ files failed: vae_decoder\/model\.onnx: SHA-256 is [0-9a-f]{64} but the Hub lists [0-9a-f]{64}; the corrupt download was deleted/,
    );
    expect(existsSync(join(work, 'model/vae_decoder/model.onnx'))).toBe(false);
    expect(existsSync(join(work, 'model/vae_decoder/model.onnx' + PARTIAL_SUFFIX))).toBe(false);
    expect(existsSync(join(work, 'model/unet/model.onnx'))).toBe(true);
  });

  test('a small Git file is verified by its Git blob SHA-1', async () => {
    const file = join(TINY_SD, 'scheduler/scheduler_config.json');
    hub.faults.set('test-org/tiny-sd/scheduler/scheduler_config.json', { corruptWith: Buffer.from(readFileSync(file).toString().replace('0.012', '0.021')) });
    await expect(fetchModel(options('test-org/tiny-sd'))).rejects.toThrow(/scheduler\/scheduler_config\.json: Git blob SHA-1 is [0-9a-f]{40} but the Hub lists/);
    // The fake lists what git itself computes.
    expect(gitBlobSha1(readFileSync(file))).toBe(execFileSync('git', ['hash-object', file]).toString().trim());
  });

  test('a server that ignores Range makes the download start over instead of appending a second copy', async () => {
    hub.faults.set('test-org/tiny-sd/text_encoder/model.onnx', { breakAfter: { bytes: 1_000_000, times: 1 }, ignoreRange: true });
    await fetchModel(options('test-org/tiny-sd'));
    expect(readFileSync(join(work, 'model/text_encoder/model.onnx')).equals(readFileSync(join(TINY_SD, 'text_encoder/model.onnx')))).toBe(true);
  });

  test('a stale file from another revision is replaced', async () => {
    mkdirSync(join(work, 'model/unet'), { recursive: true });
    writeFileSync(join(work, 'model/unet/model.onnx'), bytes(statSync(join(TINY_SD, 'unet/model.onnx')).size));
    const result = await fetchModel(options('test-org/tiny-sd'));
    expect(result.outcomes.unchanged).toBe(0);
    expect(readFileSync(join(work, 'model/unet/model.onnx')).equals(readFileSync(join(TINY_SD, 'unet/model.onnx')))).toBe(true);
  });

  test('a gated repository needs HF_TOKEN, which goes to the Hub and never to the CDN', async () => {
    await expect(fetchModel(options('test-org/gated'))).rejects.toThrow(/test-org\/gated@main on .* needs a login \(HTTP 401\): set HF_TOKEN/);
    hub.reset();
    await fetchModel(options('test-org/gated', 'main', { access: { endpoint: hub.endpoint, token: 'hf_secret' } }));
    expect(hub.requests.filter((request) => request.origin === 'hub').every((request) => request.authorization === 'Bearer hf_secret')).toBe(true);
    const cdn = hub.requests.filter((request) => request.origin === 'cdn');
    expect(cdn.length).toBeGreaterThan(0);
    expect(cdn.map((request) => request.authorization)).toEqual(cdn.map(() => undefined));
  });

  test('a revision without an ONNX export is refused before any download, with a hint', async () => {
    await expect(fetchModel(options('test-org/pytorch-only'))).rejects.toThrow(
      /test-org\/pytorch-only@main has no unet\/model\.onnx, so it is not an ONNX export; .*test-org\/pytorch-only@onnx/,
    );
    expect(hub.requests.filter((request) => request.file)).toEqual([]);
    await expect(fetchModel(options('test-org/tiny-sd', 'no-such-branch'))).rejects.toThrow(/test-org\/tiny-sd@no-such-branch on .* does not exist \(HTTP 404\)/);
  });
});

describe('file selection', () => {
  const remote = (path: string) => ({ path, size: 1, digest: { algorithm: 'sha256' as const, hex: '' } });

  test('keeps external weights of the engine\'s graph, refuses other variants\' and paths that leave the folder', () => {
    const { take, skip } = selectModelFiles(
      ['unet/model.onnx', 'unet/model.onnx_data', 'unet/onnx__MatMul_1234', 'unet/model_q4.onnx', 'unet/model_q4.onnx_data', 'unet/..', 'unet/sub/model.onnx', 'unet/model.ckpt', 'vae/model.onnx'].map(remote),
    );
    expect(take.map((file) => file.path)).toEqual(['unet/model.onnx', 'unet/model.onnx_data', 'unet/onnx__MatMul_1234']);
    expect(Object.fromEntries(skip.map((entry) => [entry.path, entry.reason]))).toEqual({
      'unet/model_q4.onnx': 'another ONNX variant; the engine loads model.onnx',
      'unet/model_q4.onnx_data': 'external data of unet/model_q4.onnx, which the engine does not load',
      'unet/..': 'hidden file',
      'unet/sub/model.onnx': 'nested deeper than the engine looks',
      'unet/model.ckpt': 'PyTorch / safetensors weights; the engine runs the ONNX graph',
      'vae/model.onnx': 'folder not used by the engine',
    });
  });
});

describe('npm run model', () => {
  test('fetch reads HF_ENDPOINT, prints progress lines off a terminal and where the model is', async () => {
    const out = join(work, 'cli-model');
    const result = await runNpmScript('model', ['fetch', 'CompVis-test/tiny-sd-legacy@onnx', '--out', out], { HF_ENDPOINT: hub.endpoint });
    expect(result.stderr).toMatch(/unet\/weights\.pb: downloaded, 200\.0 kB, SHA-256 verified/);
    expect(result.stderr).toMatch(/\n100% (\d+\.\d MB) of \1, \d+\.\d [kMG]B\/s, ETA 0:00\n/);
    expect(result.stdout).toContain(`model.localPath: ${out}`);
    expect(result.code).toBe(0);
    expect(filesUnder(out)).toContain('unet/weights.pb');
  });

  test('bad arguments are one-line usage errors with exit code 2', async () => {
    const result = await runNpmScript('model', ['fetch', 'not-a-repo']);
    expect(result.code).toBe(2);
    expect(result.stderr.trim()).toMatch(/^model: REPO must look like owner\/name .* \(run with --help for usage\)$/);
    const unknown = await runNpmScript('model', ['download', 'x/y']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/model: the command must be fetch, upload, fuse-lora or externalize but is "download"/);
  });
});
