/**
 * What can be proven of the container image without a Docker engine: the Dockerfile's contract with
 * SageMaker, that its build context holds what the build needs, that the image's dependency pins
 * agree with the tested ones, and that the bundle its build stage makes starts and serves.
 */
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cudaVersionOfImage, GPU_HOST, hostRunsImageNatively, INFERENCE_AMIS } from '../../lib/config/gpu-host';
import { postJson, waitUntilReady } from '../support/http';
import { TINY_SD } from '../support/oracle';
import { REPO_ROOT } from '../support/run-command';

const CONTAINER = join(REPO_ROOT, 'container');
const dockerfile = readFileSync(join(CONTAINER, 'Dockerfile'), 'utf8');
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'));
const readJson = (file: string) => JSON.parse(readFileSync(file, 'utf8'));

describe('Dockerfile', () => {
  it('runs on an NVIDIA CUDA 12 + cuDNN runtime with Node 22', () => {
    expect(dockerfile).toMatch(/ARG CUDA_IMAGE=nvidia\/cuda:12\.[0-9.]+-cudnn-runtime-ubuntu/);
    expect(dockerfile).toMatch(/ARG NODE_IMAGE=node:22-/);
  });

  it('is built on the CUDA image paired with the endpoint\'s pinned host image, which runs it natively', () => {
    const cudaImage = /^ARG CUDA_IMAGE=(\S+)$/m.exec(dockerfile)?.[1];
    expect(cudaImage).toBe(GPU_HOST.engineCudaImage);
    expect(hostRunsImageNatively(GPU_HOST.inferenceAmiVersion, cudaImage!)).toBe(true);
    // onnxruntime-node's CUDA provider and the image agree on the CUDA major version.
    expect(cudaVersionOfImage(cudaImage!).split('.')[0]).toBe(String(GPU_HOST.onnxruntimeCudaMajor));
    expect(instructions.some((line) => line.includes(`ONNXRUNTIME_NODE_INSTALL=cuda${GPU_HOST.onnxruntimeCudaMajor}`))).toBe(true);
  });

  it('the pairing rule refuses an image newer than the host driver\'s CUDA', () => {
    expect(cudaVersionOfImage('nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04')).toBe('12.8');
    expect(hostRunsImageNatively('al2-ami-sagemaker-inference-gpu-3-1', 'nvidia/cuda:12.8.1-cudnn-runtime-ubuntu22.04')).toBe(false);
    expect(hostRunsImageNatively('al2-ami-sagemaker-inference-gpu-2-1', 'nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04')).toBe(false);
    expect(hostRunsImageNatively('al2-ami-sagemaker-inference-gpu-2-1', 'nvidia/cuda:12.2.2-cudnn8-runtime-ubuntu22.04')).toBe(true);
    expect(INFERENCE_AMIS[GPU_HOST.inferenceAmiVersion]).toEqual({ nvidiaDriver: 550, cuda: '12.4', cudaCompatMounting: false });
    expect(() => cudaVersionOfImage('ubuntu:22.04')).toThrow(/ubuntu:22\.04 is not an nvidia\/cuda image/);
  });

  it('installs onnxruntime-node with its CUDA 12 provider and fails the build without it', () => {
    const install = instructions.find((line) => line.includes('ONNXRUNTIME_NODE_INSTALL=cuda12'));
    expect(install).toMatch(/npm ci --omit=dev/);
    expect(install).toMatch(/test -f node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64\/libonnxruntime_providers_cuda\.so/);
  });

  it('has an exec-form entrypoint that takes SageMaker\'s `serve` argument', () => {
    const entrypoint = instructions.find((line) => line.startsWith('ENTRYPOINT'))!;
    expect(JSON.parse(entrypoint.slice('ENTRYPOINT'.length))).toEqual(['/usr/local/bin/docker-entrypoint.sh']);
    expect(JSON.parse(instructions.find((line) => line.startsWith('CMD'))!.slice(3))).toEqual(['serve']);
    expect(dockerfile).toMatch(/MODEL_DIR=\/opt\/ml\/model/);
    expect(instructions).toContain('EXPOSE 8080');
  });

  it('builds from the repository root, keeping the context to the engine sources, manifests and the contract', () => {
    const ignore = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n').filter((line) => line && !line.startsWith('#'));
    expect(ignore[0]).toBe('*');
    expect(ignore).toEqual(
      expect.arrayContaining(['!container/package.json', '!container/package-lock.json', '!container/src/**', '!container/docker-entrypoint.sh', '!contract/**']),
    );
    for (const copied of instructions.filter((line) => line.startsWith('COPY') && !line.includes('--from'))) {
      for (const source of copied.split(/\s+/).slice(1, -1)) {
        expect(ignore.some((rule) => rule === `!${source}` || rule === `!${source}/**`)).toBe(true);
      }
    }
  });

  it('pins the same runtime dependencies as the tested project, with a lockfile that matches', () => {
    const image = readJson(join(CONTAINER, 'package.json'));
    const root = readJson(join(REPO_ROOT, 'package.json'));
    for (const [name, range] of Object.entries(image.dependencies)) expect([name, root.dependencies[name]]).toEqual([name, range]);
    const lock = readJson(join(CONTAINER, 'package-lock.json'));
    expect(lock.packages[''].dependencies).toEqual(image.dependencies);
    expect(lock.packages['node_modules/onnxruntime-node'].version).toBe(readJson(join(REPO_ROOT, 'node_modules/onnxruntime-node/package.json')).version);
  });
});

describe('the image build stage', () => {
  const out = mkdtempSync(join(tmpdir(), 'image-build-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('bundles the server with the build script, and the entrypoint serves it', async () => {
    // The same command the Dockerfile's build stage runs (`npm run build` in container/), into a scratch folder.
    const build = readJson(join(CONTAINER, 'package.json')).scripts.build.replace('--outfile=dist/server.js', `--outfile=${join(out, 'server.js')}`);
    execFileSync('npx', build.split(' '), { cwd: CONTAINER, stdio: 'pipe' });
    expect(execFileSync('sh', [join(CONTAINER, 'docker-entrypoint.sh'), 'echo', 'passed through']).toString().trim()).toBe('passed through');

    const child = spawn(process.execPath, [join(out, 'server.js')], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', MODEL_DIR: TINY_SD, EXECUTION_PROVIDER: 'cpu', NODE_PATH: join(REPO_ROOT, 'node_modules') },
    });
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          const listening = chunk.toString().split('\n').find((line) => line.includes('"listening"'));
          if (listening) resolve(JSON.parse(listening).url);
        });
        child.once('exit', (code) => reject(new Error(`bundle exited with ${code}`)));
      });
      await waitUntilReady(url);
      const response = await postJson(`${url}/invocations`, { prompt: 'from the bundle', steps: 2 });
      expect(response.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });
});
