import { resolveExecutionProviders, detectCuda } from '../../container/src/engine/onnx/execution-provider';
import { StableDiffusionPipeline } from '../../container/src/engine/pipeline';
import { TINY_SD } from '../support/oracle';

const none = { providerInstalled: false, gpuVisible: false, providerPath: '/x/libonnxruntime_providers_cuda.so' };
const full = { ...none, providerInstalled: true, gpuVisible: true };

describe('resolveExecutionProviders', () => {
  it('uses CPU when asked', () => expect(resolveExecutionProviders('cpu', full)).toEqual(['cpu']));
  it('takes CUDA automatically only when both provider and GPU are there', () => {
    expect(resolveExecutionProviders('auto', full)).toEqual(['cuda', 'cpu']);
    expect(resolveExecutionProviders('auto', { ...full, gpuVisible: false })).toEqual(['cpu']);
    expect(resolveExecutionProviders('auto', { ...full, providerInstalled: false })).toEqual(['cpu']);
  });
  it('explains a missing CUDA provider', () => {
    expect(() => resolveExecutionProviders('cuda', none)).toThrow(/no CUDA provider \(\/x\/libonnxruntime_providers_cuda\.so is missing\).*ONNXRUNTIME_NODE_INSTALL=cuda12/);
  });
  it('explains a missing GPU', () => {
    expect(() => resolveExecutionProviders('cuda', { ...full, gpuVisible: false })).toThrow(/no NVIDIA GPU is visible/);
  });
});

describe('on this machine', () => {
  const cuda = detectCuda();
  const usable = cuda.providerInstalled && cuda.gpuVisible;
  (usable ? it.skip : it)('refuses to load with cuda when CUDA is unavailable, with a clear error', async () => {
    await expect(StableDiffusionPipeline.load(TINY_SD, { executionProvider: 'cuda' })).rejects.toThrow(/execution provider "cuda" was requested/);
  });
  it('auto picks what is available', async () => {
    const pipeline = await StableDiffusionPipeline.load(TINY_SD, { executionProvider: 'auto' });
    expect(pipeline.executionProvider).toBe(usable ? 'cuda' : 'cpu');
    await pipeline.release();
  });
});
