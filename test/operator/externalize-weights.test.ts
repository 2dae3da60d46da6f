/**
 * `npm run model -- externalize`: the weights move out of each graph into a data file beside it,
 * onnxruntime loads the same values (the same image, bit for bit), and a rerun or an interrupted
 * run leaves a working model.
 */
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';
import { StableDiffusionPipeline } from '../../container/src/engine/pipeline';
import { externalizeModelFolder, externalizeWeights } from '../../operator/model/externalize-weights';
import { PARTIAL_SUFFIX } from '../../operator/model/resumable-download';
import { TINY_SD } from '../support/oracle';
import { runNpmScript } from '../support/run-command';

const PARTS = ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder'];
let scratch: string;
beforeEach(() => {
  scratch = mkdtempSync(join(tmpdir(), 'externalize-'));
});
afterEach(() => rmSync(scratch, { recursive: true, force: true }));

function copyModel(): string {
  const dir = join(scratch, 'model');
  cpSync(TINY_SD, dir, { recursive: true });
  return dir;
}

/** Initializers still inside the protobuf with at least `minBytes` of data. */
function inlineWeights(graph: string, minBytes = 1024): string[] {
  const model = onnx.ModelProto.decode(readFileSync(graph));
  return (model.graph?.initializer ?? [])
    .filter((t) => t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL && ((t.rawData?.length ?? 0) >= minBytes || (t.floatData?.length ?? 0) * 4 >= minBytes))
    .map((t) => t.name ?? '');
}

async function image(modelDir: string): Promise<Float32Array> {
  const pipeline = await StableDiffusionPipeline.load(modelDir, { executionProvider: 'cpu', threads: 1 });
  try {
    const result = await pipeline.generate({ prompt: 'a red fox in the snow', steps: 3, seed: 7, width: 64, height: 64 });
    return result.images[0].pixels;
  } finally {
    await pipeline.release();
  }
}

it('moves every part\'s inline weights into model.onnx_data, page-aligned, and the engine makes the same image bit for bit', async () => {
  const dir = copyModel();
  const before = await image(dir);
  const lines: string[] = [];
  const results = await externalizeModelFolder(dir, { log: (line) => lines.push(line) });
  expect(results.map((r) => r.graph)).toEqual(PARTS.map((part) => join(part, 'model.onnx')));
  for (const part of PARTS) {
    const graph = join(dir, part, 'model.onnx');
    expect({ part, inline: inlineWeights(graph) }).toEqual({ part, inline: [] });
    const data = join(dir, part, 'model.onnx_data');
    // The graph shrank by what the data file holds, less the location, offset and length of each weight.
    const moved = results.find((r) => r.graph.startsWith(part))!;
    expect(statSync(graph).size).toBeLessThan(statSync(join(TINY_SD, part, 'model.onnx')).size - moved.bytes + 100 * moved.moved);
    expect(statSync(data).size).toBeGreaterThanOrEqual(moved.bytes);
    const offsets = onnx.ModelProto.decode(readFileSync(graph))
      .graph!.initializer!.filter((t) => t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL)
      .map((t) => Number(t.externalData!.find((e) => e.key === 'offset')!.value));
    expect(offsets.every((offset) => offset % 4096 === 0)).toBe(true);
    expect(existsSync(data)).toBe(true);
  }
  expect(lines[0]).toMatch(/^text_encoder\/model\.onnx: \d+ weights \([\d.]+ MB\) moved into model\.onnx_data$/);
  expect(Buffer.from((await image(dir)).buffer).equals(Buffer.from(before.buffer))).toBe(true);
  expect(readdirSync(join(dir, 'unet')).filter((name) => name.endsWith(PARTIAL_SUFFIX))).toEqual([]);
});

it('does nothing on a second run, and puts weights left inline by a first run into a second data file', async () => {
  const dir = copyModel();
  const graph = join(dir, 'text_encoder', 'model.onnx');
  const first = await externalizeWeights(graph, { minBytes: 100_000 });
  expect(first).toMatchObject({ dataFile: 'model.onnx_data' });
  expect(inlineWeights(graph, 100_000)).toEqual([]);
  expect(inlineWeights(graph).length).toBeGreaterThan(0);
  const second = await externalizeWeights(graph);
  expect(second).toMatchObject({ dataFile: 'model.onnx_data_1' });
  expect(second.moved).toBeGreaterThan(0);
  expect(inlineWeights(graph)).toEqual([]);
  expect(await externalizeWeights(graph)).toEqual({ graph, moved: 0, bytes: 0 });
  const pipeline = await StableDiffusionPipeline.load(dir, { executionProvider: 'cpu', threads: 1 });
  await pipeline.release();
});

it('refuses a file that is not an ONNX model, naming it, and leaves no data file', async () => {
  const dir = copyModel();
  const graph = join(dir, 'vae_decoder', 'model.onnx');
  cpSync(join(dir, 'tokenizer', 'vocab.json'), graph);
  await expect(externalizeWeights(graph)).rejects.toThrow(`${graph}: not an ONNX model`);
  expect(readdirSync(join(dir, 'vae_decoder')).filter((name) => name.includes('_data'))).toEqual([]);
});

it('is the CLI command `npm run model -- externalize DIR`', async () => {
  const dir = copyModel();
  const run = await runNpmScript('model', ['externalize', dir]);
  expect(run.code).toBe(0);
  expect(run.stdout).toContain('unet/model.onnx: ');
  expect(run.stdout).toMatch(/MB of weights now external\n$/);
  expect(inlineWeights(join(dir, 'unet', 'model.onnx'))).toEqual([]);
});
