/**
 * `npm run model -- fuse-lora` against diffusers' `load_lora_weights` + `fuse_lora`: every
 * `lora.json` case, fused and generated, matches the reference image within 1e-3; the input folder
 * is never written; what cannot be mapped is refused by name.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { onnx } from 'onnx-proto';
import { readModelFolder } from '../../container/src/engine/model/model-folder';
import { StableDiffusionPipeline } from '../../container/src/engine/pipeline';
import { createScheduler } from '../../container/src/engine/schedulers';
import { fuseLora, LoraFusionError, type LoraInput } from '../../operator/model/lora/fuse-lora';
import { maxAbsDiff, ORACLE_DIR, oracleGenerateOptions, readFloat32, readReference, referenceFile, TINY_SD, TINY_SD_FP16_EXTERNAL, type OracleGenerationCase } from '../support/oracle';
import { runNpmScript } from '../support/run-command';
import { writeSafetensors } from './support/safetensors-writer';

type LoraCase = OracleGenerationCase & { readonly loras: ReadonlyArray<{ file: string; scale: number }> };

const CASES = (readReference('lora.json') as { cases: LoraCase[] }).cases;
const LORAS = join(ORACLE_DIR, 'loras');
const IMAGE_TOLERANCE = 1e-3;

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'fuse-lora-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function lorasOf(c: LoraCase): LoraInput[] {
  return c.loras.map((l) => ({ source: l.file, file: join(LORAS, l.file), scale: l.scale }));
}

function folderDigest(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out[relative(dir, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return out;
}

async function generate(modelDir: string, c: LoraCase): Promise<Float32Array> {
  const pipeline = await StableDiffusionPipeline.load(modelDir, { executionProvider: 'cpu' });
  try {
    const result = await pipeline.generate(oracleGenerateOptions(c));
    return result.images[0].pixels;
  } finally {
    await pipeline.release();
  }
}

describe('fuse-lora matches diffusers', () => {
  const inputBefore = folderDigest(TINY_SD);

  it.each(CASES.map((c) => [c.id, c] as const))('case %s', async (id, c) => {
    const out = join(work, id);
    const logged: string[] = [];
    const result = await fuseLora({ modelDir: TINY_SD, loras: lorasOf(c), outDir: out, log: (line) => logged.push(line) });

    expect(maxAbsDiff(await generate(out, c), readFloat32(c.image_float))).toBeLessThan(IMAGE_TOLERANCE);
    for (const coverage of result.coverage) expect(coverage.fused).toBe(coverage.modules);
    expect(logged.some((line) => /unet \d+\/\d+ modules fused/.test(line))).toBe(true);
    const provenance = JSON.parse(readFileSync(join(out, 'lora.json'), 'utf8'));
    expect(provenance.loras).toEqual(
      c.loras.map((l) => expect.objectContaining({ source: l.file, scale: l.scale, sha256: createHash('sha256').update(readFileSync(join(LORAS, l.file))).digest('hex') })),
    );
  });

  it('leaves the input folder byte for byte as it was, and links the files it did not change', () => {
    expect(folderDigest(TINY_SD)).toEqual(inputBefore);
    const out = join(work, CASES[0].id);
    expect(statSync(join(out, 'tokenizer', 'vocab.json')).ino).toBe(statSync(join(TINY_SD, 'tokenizer', 'vocab.json')).ino);
    expect(statSync(join(out, 'unet', 'model.onnx')).ino).not.toBe(statSync(join(TINY_SD, 'unet', 'model.onnx')).ino);
    // Inline weights are rewritten where they lie: same size, only the fused tensors' bytes differ.
    expect(statSync(join(out, 'unet', 'model.onnx')).size).toBe(statSync(join(TINY_SD, 'unet', 'model.onnx')).size);
  });

  it('the kohya and the peft layout of one LoRA fuse to the same weights', () => {
    const kohya = readFileSync(join(work, 'lora-kohya-pndm', 'unet', 'model.onnx'));
    const peft = readFileSync(join(work, 'lora-peft-pndm', 'unet', 'model.onnx'));
    expect(kohya.equals(peft)).toBe(true);
  });
});

describe('fuse-lora on an fp16 export with external data', () => {
  it('keeps the weights external and in fp16, rewriting only the fused tensors', async () => {
    const out = join(work, 'fp16');
    await fuseLora({ modelDir: TINY_SD_FP16_EXTERNAL, loras: [{ source: 'fp16', file: join(LORAS, 'unet-only-kohya-fp16.safetensors'), scale: 0.8 }], outDir: out });
    // The graph is unchanged (the same file, linked); the data file is a new file of the same size with different bytes.
    expect(statSync(join(out, 'unet', 'model.onnx')).ino).toBe(statSync(join(TINY_SD_FP16_EXTERNAL, 'unet', 'model.onnx')).ino);
    const before = readFileSync(join(TINY_SD_FP16_EXTERNAL, 'unet', 'model.onnx_data'));
    const after = readFileSync(join(out, 'unet', 'model.onnx_data'));
    expect(after.length).toBe(before.length);
    expect(after.equals(before)).toBe(false);
    const c = CASES.find((candidate) => candidate.id === 'lora-fp16-unet-only')!;
    // fp16 weights and activations move the image by a few 1e-3 (test/engine/float16.test.ts); the LoRA's own effect is far larger.
    const fused = await generate(out, c);
    const plain = await generate(TINY_SD_FP16_EXTERNAL, c);
    const reference = readFloat32(c.image_float);
    expect(maxAbsDiff(fused, reference)).toBeLessThan(maxAbsDiff(plain, reference) / 4);
  });
});

describe('fuse-lora into a fused folder', () => {
  it('keeps the earlier provenance', async () => {
    const first = join(work, 'first');
    const second = join(work, 'second');
    await fuseLora({ modelDir: TINY_SD, loras: lorasOf(CASES[0]), outDir: first });
    await fuseLora({ modelDir: first, loras: [{ source: 'fp16', file: join(LORAS, 'unet-only-kohya-fp16.safetensors'), scale: 0.5 }], outDir: second });
    const provenance = JSON.parse(readFileSync(join(second, 'lora.json'), 'utf8'));
    expect(provenance.loras.map((l: { source: string }) => l.source)).toEqual(['fp16']);
    expect(provenance.base_model_provenance.loras.map((l: { source: string }) => l.source)).toEqual([CASES[0].loras[0].file]);
  });
});

describe('fuse-lora --defaults', () => {
  it('hyper-sd writes DDIM, trailing spacing, the steps in the file name and no guidance; the engine reads them', async () => {
    const out = join(work, 'hyper');
    const loras = [{ source: 'ByteDance/Hyper-SD/Hyper-SD15-2steps-lora.safetensors', file: join(LORAS, 'style-kohya.safetensors'), scale: 1 }];
    const { provenance } = await fuseLora({ modelDir: TINY_SD, loras, outDir: out, defaults: 'hyper-sd' });
    const folder = await readModelFolder(out);
    expect(folder.generationDefaults).toEqual({ scheduler: 'ddim', num_inference_steps: 2, guidance_scale: 0 });
    expect(provenance.generation_defaults).toEqual(folder.generationDefaults);
    const scheduler = createScheduler('ddim', folder.schedulerConfig);
    scheduler.setTimesteps(2);
    expect(scheduler.timesteps).toEqual([999, 499]);
    // The input's scheduler config is untouched (the output's is a new file, not a link).
    expect(JSON.parse(readFileSync(join(TINY_SD, 'scheduler', 'scheduler_config.json'), 'utf8')).timestep_spacing).not.toBe('trailing');
  });

  it('lcm writes LCM, 4 steps, guidance 1', async () => {
    const out = join(work, 'lcm');
    await fuseLora({ modelDir: TINY_SD, loras: lorasOf(CASES[0]), outDir: out, defaults: 'lcm' });
    expect((await readModelFolder(out)).generationDefaults).toEqual({ scheduler: 'lcm', num_inference_steps: 4, guidance_scale: 1 });
  });
});

describe('fuse-lora refuses', () => {
  it('a file with keys for modules the model lacks, naming them; --allow-partial fuses the rest', async () => {
    const file = writeSafetensors(join(work, 'extra.safetensors'), {
      'lora_unet_mid_block_attentions_0_proj_in.lora_down.weight': { shape: [2, 64] },
      'lora_unet_mid_block_attentions_0_proj_in.lora_up.weight': { shape: [64, 2] },
      'lora_unet_down_blocks_7_attentions_0_proj_in.lora_down.weight': { shape: [2, 64] },
      'lora_unet_down_blocks_7_attentions_0_proj_in.lora_up.weight': { shape: [64, 2] },
      'lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight': { shape: [2, 32] },
    });
    const loras = [{ source: 'extra.safetensors', file, scale: 1 }];
    await expect(fuseLora({ modelDir: TINY_SD, loras, outDir: join(work, 'refused') })).rejects.toThrow(
      /extra\.safetensors: 2 keys name modules this model does not have: lora_te2_text_model_encoder_layers_0_self_attn_q_proj\.lora_down\.weight, lora_unet_down_blocks_7_attentions_0_proj_in\. Fuse the rest with --allow-partial/,
    );
    expect(() => statSync(join(work, 'refused'))).toThrow();
    expect(() => statSync(join(work, 'refused.partial'))).toThrow();
    const result = await fuseLora({ modelDir: TINY_SD, loras, outDir: join(work, 'partial'), allowPartial: true });
    expect(result.coverage).toEqual([{ source: 'extra.safetensors', part: 'unet', fused: 1, modules: 2 }]);
  });

  it('a LoRA made for another base model (shapes differ)', async () => {
    const file = writeSafetensors(join(work, 'sd2.safetensors'), {
      'lora_unet_mid_block_attentions_0_proj_in.lora_down.weight': { shape: [2, 1280] },
      'lora_unet_mid_block_attentions_0_proj_in.lora_up.weight': { shape: [1280, 2] },
    });
    await expect(fuseLora({ modelDir: TINY_SD, loras: [{ source: 'sd2', file, scale: 1 }], outDir: join(work, 'sd2') })).rejects.toThrow(
      /lora_unet_mid_block_attentions_0_proj_in is 1280×1280 but the model's unet\.mid_block\.attentions\.0\.proj_in is 64×64; the LoRA was made for another base model/,
    );
  });

  it('an export whose node names carry no module scope, saying so', async () => {
    const model = join(work, 'unscoped');
    cpSync(TINY_SD, model, { recursive: true });
    const graphFile = join(model, 'text_encoder', 'model.onnx');
    const graph = onnx.ModelProto.decode(readFileSync(graphFile));
    for (const node of graph.graph!.node!) node.name = '';
    writeFileSync(graphFile, onnx.ModelProto.encode(graph).finish());
    await expect(fuseLora({ modelDir: model, loras: lorasOf(CASES[0]), outDir: join(work, 'unscoped-out') })).rejects.toThrow(
      /text_encoder\/model\.onnx: its MatMul nodes carry no module scope in their names \(an older exporter\), so 12 of the LoRA's text_encoder modules cannot be found/,
    );
  });

  it('a weight the exporter shares between two modules', async () => {
    const model = join(work, 'shared');
    cpSync(TINY_SD, model, { recursive: true });
    const graphFile = join(model, 'unet', 'model.onnx');
    const graph = onnx.ModelProto.decode(readFileSync(graphFile));
    const nodes = graph.graph!.node!;
    const scope = '/unet/down_blocks.0/attentions.0/transformer_blocks.0/attn1';
    const toQ = nodes.find((n) => n.name === `${scope}/to_q/MatMul`)!;
    nodes.find((n) => n.name === `${scope}/to_k/MatMul`)!.input![1] = toQ.input![1];
    writeFileSync(graphFile, onnx.ModelProto.encode(graph).finish());
    await expect(fuseLora({ modelDir: model, loras: lorasOf(CASES[0]), outDir: join(work, 'shared-out') })).rejects.toThrow(
      /the model's unet\.down_blocks\.0\.attentions\.0\.transformer_blocks\.0\.attn1\.to_\w shares its weight onnx::MatMul_\d+ with unet\.down_blocks\.0\.attentions\.0\.transformer_blocks\.0\.attn1\.to_\w/,
    );
  });

  it('an output folder that exists', async () => {
    await expect(fuseLora({ modelDir: TINY_SD, loras: lorasOf(CASES[0]), outDir: TINY_SD })).rejects.toThrow(LoraFusionError);
    await expect(fuseLora({ modelDir: TINY_SD, loras: lorasOf(CASES[0]), outDir: TINY_SD })).rejects.toThrow(/already exists/);
  });
});

describe('npm run model -- fuse-lora, then npm run generate', () => {
  it('reproduces a lora.json case with exactly the documented flags', async () => {
    const c = CASES.find((candidate) => candidate.id === 'lora-kohya-scale')!;
    const out = join(work, 'cli');
    const fused = await runNpmScript('model', ['fuse-lora', TINY_SD, '--lora', `${join(LORAS, c.loras[0].file)}:${c.loras[0].scale}`, '--out', out]);
    expect(fused.stderr).toMatch(/unet 48\/48 modules fused[\s\S]*text_encoder 12\/12 modules fused/);
    expect(fused.code).toBe(0);
    const raw = join(work, 'cli.f32');
    const args = ['--model', out, '--scheduler', c.scheduler, '--steps', String(c.steps), '--guidance-scale', String(c.guidance_scale)];
    args.push('--width', String(c.width), '--height', String(c.height), '--prompt', c.prompt, '--negative-prompt', c.negative_prompt!);
    args.push('--initial-noise', referenceFile(c.initial_noise.file), '--raw-out', raw, '--out', join(work, 'cli.png'));
    const generated = await runNpmScript('generate', args);
    expect(generated.code).toBe(0);
    const bytes = readFileSync(raw);
    expect(maxAbsDiff(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4), readFloat32(c.image_float))).toBeLessThan(IMAGE_TOLERANCE);
  });

  it('refuses a bad scale and an unknown --defaults with exit code 2', async () => {
    const scale = await runNpmScript('model', ['fuse-lora', TINY_SD, '--lora', `${join(LORAS, 'style-kohya.safetensors')}:strong`, '--out', join(work, 'x')]);
    expect(scale.code).toBe(2);
    expect(scale.stderr).toMatch(/the scale after ':' must be a number but is "strong"/);
    const defaults = await runNpmScript('model', ['fuse-lora', TINY_SD, '--lora', join(LORAS, 'style-kohya.safetensors'), '--defaults', 'turbo', '--out', join(work, 'x')]);
    expect(defaults.code).toBe(2);
    expect(defaults.stderr).toMatch(/--defaults must be lcm or hyper-sd but is "turbo"/);
  });
});
