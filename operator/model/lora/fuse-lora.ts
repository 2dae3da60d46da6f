/**
 * `npm run model -- fuse-lora`: adds LoRA deltas (scale × alpha / rank × up @ down) into the weights
 * of an SD 1.x ONNX export, as diffusers' `load_lora_weights` + `fuse_lora` does, and writes the
 * result as a new model folder. The input folder is never written: unchanged files are hard-linked
 * (copied where the file system cannot link), changed ones written fresh, and the folder appears
 * under its final name only once complete.
 *
 * Memory stays bounded by one weight at a time: weights in an external data file are fused by
 * copying that file and rewriting each fused tensor's byte range in place; an inline weight is
 * rewritten inside the protobuf's bytes as read (encoded again only for `float_data` weights).
 */
import { createHash } from 'node:crypto';
import { copyFile, link, mkdir, open, readdir, rename, rm, stat, writeFile, readFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { onnx } from 'onnx-proto';
import { GENERATION_DEFAULTS_FILE, type GenerationDefaultsFile } from '../../../contract/model-defaults';
import { digestFile } from '../file-digest';
import { loraModules, MODEL_PARTS, type LoraModule, type ModelPart } from './lora-file';
import { bytesToFloat32, externalLocation, float32ToBytes, loadGraph, OnnxMappingError, readInline, writeInline, type LoadedGraph, type ModuleWeight } from './onnx-weights';
import { SafetensorsFile } from './safetensors';

export const PROVENANCE_FILE = 'lora.json';
const GRAPH_FILE = 'model.onnx';

/** Few-step settings a fused LoRA needs: LCM-LoRA's model card, and Hyper-SD's N-step LoRAs (DDIM, trailing, no guidance). */
export const DEFAULTS_PRESETS = ['lcm', 'hyper-sd'] as const;
export type DefaultsPreset = (typeof DEFAULTS_PRESETS)[number];

export interface LoraInput {
  /** What the operator named: a path, or `owner/name/path.safetensors` on the Hub. */
  readonly source: string;
  /** The file on disk. */
  readonly file: string;
  readonly scale: number;
}

export interface FuseLoraOptions {
  readonly modelDir: string;
  readonly loras: readonly LoraInput[];
  /** Must not exist yet. */
  readonly outDir: string;
  /** Fuse what maps and skip the rest, instead of refusing the file. @default false */
  readonly allowPartial?: boolean;
  /** Writes generation_defaults.json (and for hyper-sd the trailing timestep spacing). @default - none */
  readonly defaults?: DefaultsPreset;
  /** Steps for `--defaults hyper-sd`. @default - from the file name (`…-4steps-…`), else 4 */
  readonly defaultSteps?: number;
  /** @default - silent */
  readonly log?: (line: string) => void;
}

export interface PartCoverage {
  readonly source: string;
  readonly part: ModelPart;
  readonly fused: number;
  readonly modules: number;
}

export interface FuseLoraResult {
  readonly coverage: readonly PartCoverage[];
  readonly provenance: Provenance;
}

export interface Provenance {
  readonly base_model: string;
  readonly loras: ReadonlyArray<{ source: string; sha256: string; scale: number; fused_modules: Record<string, string> }>;
  readonly generation_defaults?: GenerationDefaultsFile;
  readonly base_model_provenance?: unknown;
}

export class LoraFusionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoraFusionError';
  }
}

const SHOWN_UNMAPPED = 8;

interface Planned {
  readonly lora: LoraInput;
  readonly file: SafetensorsFile;
  readonly module: LoraModule;
  readonly target: ModuleWeight;
}

export async function fuseLora(options: FuseLoraOptions): Promise<FuseLoraResult> {
  const log = options.log ?? (() => undefined);
  const { modelDir, outDir } = options;
  if (options.loras.length === 0) throw new LoraFusionError('no LoRA given');
  await stat(join(modelDir, 'unet', GRAPH_FILE)).catch(() => {
    throw new LoraFusionError(`${modelDir} is not an SD ONNX export (no unet/${GRAPH_FILE})`);
  });
  if (await exists(outDir)) throw new LoraFusionError(`${outDir} already exists; fuse-lora writes a new folder and never overwrites one`);

  const files: SafetensorsFile[] = [];
  try {
    for (const lora of options.loras) files.push(await SafetensorsFile.open(lora.file));
    const graphs = new Map<ModelPart, LoadedGraph>();
    const graphOf = async (part: ModelPart) => {
      if (!graphs.has(part)) graphs.set(part, await loadGraph(join(modelDir, part, GRAPH_FILE)));
      return graphs.get(part)!;
    };

    const planned: Planned[] = [];
    const coverage: PartCoverage[] = [];
    for (const [index, lora] of options.loras.entries()) {
      const file = files[index];
      const { modules, unknownKeys } = loraModules(file);
      if (modules.length === 0) throw new LoraFusionError(`${lora.source}: no LoRA modules found (keys such as ${unknownKeys.slice(0, 3).join(', ')})`);
      const unmapped: string[] = [...unknownKeys];
      for (const part of MODEL_PARTS) {
        const inPart = modules.filter((m) => m.part === part);
        if (inPart.length === 0) continue;
        const graph = await graphOf(part);
        let fused = 0;
        for (const module of inPart) {
          const target = graph.modules.get(module.key);
          if (!target) {
            unmapped.push(module.name);
            continue;
          }
          if (target.outFeatures !== module.outFeatures || target.inFeatures !== module.inFeatures) {
            throw new LoraFusionError(
              `${lora.source}: ${module.name} is ${module.outFeatures}×${module.inFeatures} but the model's ${target.modulePath} is ${target.outFeatures}×${target.inFeatures}; the LoRA was made for another base model`,
            );
          }
          const sharers = graph.shared.get(module.key);
          if (sharers) {
            throw new LoraFusionError(
              `${lora.source}: the model's ${target.modulePath} shares its weight ${target.initializer.name} with ${sharers.join(', ')} (the exporter merged identical tensors), so fusing it would change those too; export the model without merging initializers`,
            );
          }
          planned.push({ lora, file, module, target });
          fused += 1;
        }
        coverage.push({ source: lora.source, part, fused, modules: inPart.length });
        log(`${lora.source}: ${part} ${fused}/${inPart.length} modules fused`);
        if (fused < inPart.length && !graph.scopedNodes && !options.allowPartial) {
          throw new LoraFusionError(
            `${part}/${GRAPH_FILE}: its MatMul nodes carry no module scope in their names (an older exporter), so ${inPart.length - fused} of the LoRA's ${part} modules cannot be found; use an export made with optimum or torch.onnx 2.x, or fuse the rest with --allow-partial`,
          );
        }
      }
      if (unmapped.length > 0) {
        const shown = unmapped.slice(0, SHOWN_UNMAPPED).join(', ') + (unmapped.length > SHOWN_UNMAPPED ? ` and ${unmapped.length - SHOWN_UNMAPPED} more` : '');
        if (!options.allowPartial) {
          throw new LoraFusionError(`${lora.source}: ${unmapped.length} keys name modules this model does not have: ${shown}. Fuse the rest with --allow-partial`);
        }
        log(`${lora.source}: skipped (--allow-partial): ${shown}`);
      }
    }

    const staging = `${outDir}.partial`;
    await rm(staging, { recursive: true, force: true });
    await mkdir(dirname(outDir), { recursive: true });
    try {
      const written = new Set<string>();
      for (const part of MODEL_PARTS) {
        const inPart = planned.filter((p) => p.module.part === part);
        if (inPart.length === 0) continue;
        for (const path of await writeFusedPart(staging, part, graphs.get(part)!, inPart, log)) written.add(path);
      }
      const generationDefaults = options.defaults ? presetDefaults(options.defaults, options.defaultSteps ?? stepsFromNames(options.loras)) : undefined;
      if (generationDefaults) {
        await writeJson(join(staging, GENERATION_DEFAULTS_FILE), generationDefaults);
        written.add(GENERATION_DEFAULTS_FILE);
        if (options.defaults === 'hyper-sd') {
          const configPath = join('scheduler', 'scheduler_config.json');
          const config = JSON.parse(await readFile(join(modelDir, configPath), 'utf8'));
          await mkdir(join(staging, 'scheduler'), { recursive: true });
          await writeJson(join(staging, configPath), { ...config, timestep_spacing: 'trailing' });
          written.add(configPath);
        }
      }
      await linkUnchanged(modelDir, staging, written);

      const previous = await readFile(join(modelDir, PROVENANCE_FILE), 'utf8').then(JSON.parse, () => undefined);
      const provenance: Provenance = {
        base_model: modelDir,
        loras: await Promise.all(
          options.loras.map(async (lora) => ({
            source: lora.source,
            sha256: await sha256(lora.file),
            scale: lora.scale,
            fused_modules: Object.fromEntries(coverage.filter((c) => c.source === lora.source).map((c) => [c.part, `${c.fused}/${c.modules}`])),
          })),
        ),
        ...(generationDefaults ? { generation_defaults: generationDefaults } : {}),
        // Fusing into an already fused folder keeps what that one held.
        ...(previous ? { base_model_provenance: previous } : {}),
      };
      await writeJson(join(staging, PROVENANCE_FILE), provenance);
      await rename(staging, outDir);
      return { coverage, provenance };
    } catch (error) {
      await rm(staging, { recursive: true, force: true });
      throw error;
    }
  } finally {
    await Promise.all(files.map((f) => f.close()));
  }
}

/** Writes one part's fused weights; returns the paths (relative to the folder) it wrote. */
async function writeFusedPart(staging: string, part: ModelPart, graph: LoadedGraph, planned: readonly Planned[], log: (line: string) => void): Promise<string[]> {
  const byInitializer = new Map<onnx.ITensorProto, Planned[]>();
  for (const p of planned) byInitializer.set(p.target.initializer, [...(byInitializer.get(p.target.initializer) ?? []), p]);
  await mkdir(join(staging, part), { recursive: true });
  const written: string[] = [];
  const externalHandles = new Map<string, Awaited<ReturnType<typeof open>>>();
  let inlineChanged = false;
  let reencode = false;
  try {
    for (const [initializer, fusions] of byInitializer) {
      const target = fusions[0].target;
      const location = externalLocation(graph.file, initializer);
      if (location) {
        let output = externalHandles.get(location.relative);
        if (!output) {
          const outPath = join(staging, part, location.relative);
          await mkdir(dirname(outPath), { recursive: true });
          await copyFile(location.file, outPath);
          output = await open(outPath, 'r+');
          externalHandles.set(location.relative, output);
          written.push(relative(staging, outPath));
        }
        const bytes = Buffer.alloc(location.length);
        await output.read(bytes, 0, bytes.length, location.offset);
        const values = bytesToFloat32(bytes, target.dtype);
        for (const fusion of fusions) await addDelta(values, fusion);
        await output.write(float32ToBytes(values, target.dtype), 0, location.length, location.offset);
      } else {
        const values = readInline(initializer, target.dtype);
        for (const fusion of fusions) await addDelta(values, fusion);
        if (!writeInline(initializer, values, target.dtype, graph.bytes)) reencode = true;
        inlineChanged = true;
      }
    }
  } finally {
    await Promise.all([...externalHandles.values()].map((h) => h.close()));
  }
  if (inlineChanged) {
    await writeFile(join(staging, part, GRAPH_FILE), reencode ? onnx.ModelProto.encode(graph.model).finish() : graph.bytes);
    written.push(join(part, GRAPH_FILE));
  }
  log(`${part}: ${byInitializer.size} weights fused into ${written.join(', ')}`);
  return written.map((p) => p.split('\\').join('/'));
}

/**
 * weight += scale × alpha / rank × up @ down, in float32 whatever the stored dtype (fp16 weights
 * are widened on read and rounded once on write), in the weight's own layout.
 */
async function addDelta(weight: Float32Array, { lora, file, module, target }: Planned): Promise<void> {
  const down = await file.readFloat32(module.down.name);
  const up = await file.readFloat32(module.up.name);
  const alpha = module.alpha ? (await file.readFloat32(module.alpha.name))[0] : module.rank;
  const factor = (lora.scale * alpha) / module.rank;
  const { rank, inFeatures: n, outFeatures: m } = module;
  if (weight.length !== m * n) throw new OnnxMappingError(`${target.modulePath}: weight has ${weight.length} values, not ${m}×${n}`);
  const row = new Float64Array(n);
  for (let o = 0; o < m; o += 1) {
    row.fill(0);
    for (let r = 0; r < rank; r += 1) {
      const u = up[o * rank + r];
      if (u === 0) continue;
      const base = r * n;
      for (let i = 0; i < n; i += 1) row[i] += u * down[base + i];
    }
    if (target.layout === 'out-in') for (let i = 0; i < n; i += 1) weight[o * n + i] += factor * row[i];
    else for (let i = 0; i < n; i += 1) weight[i * m + o] += factor * row[i];
  }
}

/** Every file of the input not written fresh, hard-linked into the output (copied across devices). */
async function linkUnchanged(modelDir: string, staging: string, written: ReadonlySet<string>): Promise<void> {
  for (const entry of await readdir(modelDir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const from = join(entry.parentPath, entry.name);
    const path = relative(modelDir, from);
    if (written.has(path.split('\\').join('/')) || basename(path) === PROVENANCE_FILE) continue;
    const to = join(staging, path);
    await mkdir(dirname(to), { recursive: true });
    await link(from, to).catch(() => copyFile(from, to));
  }
}

export function presetDefaults(preset: DefaultsPreset, steps: number): GenerationDefaultsFile {
  if (preset === 'lcm') return { scheduler: 'lcm', num_inference_steps: 4, guidance_scale: 1 };
  return { scheduler: 'ddim', num_inference_steps: steps, guidance_scale: 0 };
}

/** Hyper-SD names its files by step count: `Hyper-SD15-4steps-lora.safetensors`. */
function stepsFromNames(loras: readonly LoraInput[]): number {
  for (const lora of loras) {
    const match = /(\d+)-?steps?/i.exec(basename(lora.source));
    if (match) return Number(match[1]);
  }
  return 4;
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  await digestFile(path, hash);
  return hash.digest('hex');
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}
