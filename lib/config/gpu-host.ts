/**
 * The GPU host SageMaker boots for the async endpoint, and the CUDA user space the engine image
 * brings: one pair, stated once. `container/Dockerfile` names the same image (its test reads the
 * Dockerfile against `GPU_HOST`), and `lib/constructs/inference-endpoint.ts` pins the host image.
 *
 * Why a pin at all. Without `InferenceAmiVersion`, AWS's page "Best practices to minimize
 * interruptions during GPU driver upgrades" (SageMaker developer guide, inference-gpu-drivers)
 * lists Asynchronous Inference on ml.g4dn.* and ml.g5.* at NVIDIA driver 470 / CUDA 11.4, and on
 * ml.g6.* / ml.p5.* at a newer driver: which driver the engine meets would depend on the instance
 * type, and a CUDA 12 image on driver 470 starts only through the CUDA forward-compatibility
 * package, which the NVIDIA container toolkit mounts for data-centre GPUs and which breaks as soon
 * as AWS moves the driver (the same page's "CUDA Compatibility Package is not backwards compatible").
 *
 * Why this pair. `al2-ami-sagemaker-inference-gpu-3-1` carries driver 550, whose native CUDA is
 * 12.4 (ProductionVariant.InferenceAmiVersion in the SageMaker API reference). The image is
 * `nvidia/cuda:12.4.1-cudnn-runtime`: its user space is exactly the driver's CUDA, so
 * - `NVIDIA_REQUIRE_CUDA=cuda>=12.4`, which the container toolkit enforces at start, holds on its
 *   main clause, not on a per-driver-branch exception;
 * - nothing relies on the compat package, which the `-1` host images do not mount anyway
 *   ("NVIDIA Container Toolkit with disabled CUDA-compat mounting");
 * - onnxruntime-node's CUDA 12 provider runs on it: "ONNX Runtime built with CUDA 12.x are
 *   compatible with any CUDA 12.x version" (onnxruntime.ai, CUDA Execution Provider, Requirements),
 *   and it needs cuDNN 9, which the `-cudnn-` image (cuDNN 9.1) provides; cuDNN 8 would not do.
 * The alternative, keeping CUDA 12.8 on this host, would run a newer runtime than the driver
 * through minor-version compatibility, which holds except for PTX JIT of newer kernels: workable,
 * but an argument where the 12.4 pair needs none.
 *
 * Instance families. The API reference lists ml.g4dn.*, ml.g5.*, ml.g6.*, ml.p3.*, ml.p4d.*,
 * ml.p4de.* and ml.p5.* for the AL2 inference GPU images (`-gpu-2`, botocore 1.36.20, 2025-02),
 * and public SageMaker deployment samples pin `-gpu-3-1` on ml.g4dn, ml.g5, ml.g6 and ml.g6e.
 * Only those single-GPU inference families (T4, A10G, L4, L40S: all run SD 1.x) are accepted;
 * the GPU-driver page's column of override-compatible families is the authority to extend this
 * list against.
 */

/** The NVIDIA driver and CUDA version of each documented SageMaker inference GPU host image. */
export const INFERENCE_AMIS = {
  'al2-ami-sagemaker-inference-gpu-2': { nvidiaDriver: 535, cuda: '12.2', cudaCompatMounting: true },
  'al2-ami-sagemaker-inference-gpu-2-1': { nvidiaDriver: 535, cuda: '12.2', cudaCompatMounting: false },
  'al2-ami-sagemaker-inference-gpu-3-1': { nvidiaDriver: 550, cuda: '12.4', cudaCompatMounting: false },
} as const;

export type InferenceAmiVersion = keyof typeof INFERENCE_AMIS;

/** The pair: the host image the endpoint pins and the image the engine is built on. */
export const GPU_HOST = {
  inferenceAmiVersion: 'al2-ami-sagemaker-inference-gpu-3-1' satisfies InferenceAmiVersion,
  /** `ARG CUDA_IMAGE` of container/Dockerfile. */
  engineCudaImage: 'nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04',
  /** CUDA major version of onnxruntime-node's execution provider (`ONNXRUNTIME_NODE_INSTALL=cuda12`). */
  onnxruntimeCudaMajor: 12,
  /** `ml.<family>.<size>` families accepted for `backend.instanceType` in async mode. */
  instanceFamilies: ['g4dn', 'g5', 'g6', 'g6e'],
} as const;

/** "12.4" from `nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04`. */
export function cudaVersionOfImage(image: string): string {
  const match = /^(?:[\w.-]+\/)*nvidia\/cuda:(\d+)\.(\d+)(?:\.\d+)?-/.exec(image);
  if (!match) throw new Error(`${image} is not an nvidia/cuda image tag such as nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04`);
  return `${match[1]}.${match[2]}`;
}

/**
 * Whether the host's driver supports the image's CUDA version natively: a driver runs every CUDA
 * release up to its own, so no compatibility package or minor-version argument is needed.
 */
export function hostRunsImageNatively(amiVersion: InferenceAmiVersion, image: string): boolean {
  const [hostMajor, hostMinor] = INFERENCE_AMIS[amiVersion].cuda.split('.').map(Number);
  const [imageMajor, imageMinor] = cudaVersionOfImage(image).split('.').map(Number);
  return imageMajor < hostMajor || (imageMajor === hostMajor && imageMinor <= hostMinor);
}

/** "g4dn" from "ml.g4dn.xlarge"; undefined for anything not shaped like a SageMaker instance type. */
export function instanceFamily(instanceType: string): string | undefined {
  return /^ml\.([a-z0-9-]+)\.[a-z0-9]+$/.exec(instanceType)?.[1];
}

/** Whether the pinned host image runs on this instance type (see the families above). */
export function gpuHostSupports(instanceType: string): boolean {
  const family = instanceFamily(instanceType);
  return family !== undefined && (GPU_HOST.instanceFamilies as readonly string[]).includes(family);
}

/** The families as `ml.g4dn.*, ml.g5.*, …`, for error messages. */
export function describeGpuHostFamilies(): string {
  return GPU_HOST.instanceFamilies.map((family) => `ml.${family}.*`).join(', ');
}
