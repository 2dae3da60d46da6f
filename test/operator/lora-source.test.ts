/**
 * `--lora FILE[:SCALE]`: the scale's parsing, and a Hub file fetched with `fetch`'s verified,
 * resumable download (against the fake Hub, with a connection cut mid-file).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseLoraSpec, resolveLora } from '../../operator/model/lora/lora-source';
import { ORACLE_DIR } from '../support/oracle';
import { FakeHub } from './support/fake-hub';

const LORA = readFileSync(join(ORACLE_DIR, 'loras', 'style-kohya.safetensors'));
let hub: FakeHub;
let work: string;

beforeAll(async () => {
  hub = await FakeHub.start([{ id: 'test-org/loras', files: [{ path: 'sd15/style.safetensors', content: LORA }] }]);
  work = mkdtempSync(join(tmpdir(), 'lora-source-'));
});
afterAll(async () => {
  await hub.close();
  rmSync(work, { recursive: true, force: true });
});

describe('--lora FILE[:SCALE]', () => {
  it.each([
    ['style.safetensors', { source: 'style.safetensors', scale: 1 }],
    ['style.safetensors:0.8', { source: 'style.safetensors', scale: 0.8 }],
    ['owner/name/style.safetensors:-.5', { source: 'owner/name/style.safetensors', scale: -0.5 }],
    ['C:\\loras\\style.safetensors', { source: 'C:\\loras\\style.safetensors', scale: 1 }],
  ])('%s', (text, expected) => expect(parseLoraSpec(text)).toEqual(expected));

  it('downloads owner/name/path.safetensors from the Hub, verified, resuming a broken connection', async () => {
    hub.faults.set('test-org/loras/sd15/style.safetensors', { breakAfter: { bytes: 40_000, times: 1 } });
    const input = await resolveLora({ source: 'test-org/loras/sd15/style.safetensors', scale: 0.5 }, { access: { endpoint: hub.endpoint }, cacheDir: work });
    expect(input).toEqual({ source: 'test-org/loras/sd15/style.safetensors', file: join(work, 'test-org--loras', 'main', 'sd15', 'style.safetensors'), scale: 0.5 });
    expect(createHash('sha256').update(readFileSync(input.file)).digest('hex')).toBe(createHash('sha256').update(LORA).digest('hex'));
  });

  it('names the files a repository has when the path is wrong', async () => {
    await expect(resolveLora({ source: 'test-org/loras/style.safetensors', scale: 1 }, { access: { endpoint: hub.endpoint }, cacheDir: work })).rejects.toThrow(
      /test-org\/loras@main has no style\.safetensors; its safetensors files: sd15\/style\.safetensors/,
    );
  });
});
