import { availableParallelism } from 'node:os';

/**
 * Intra-op threads for every session. onnxruntime's own Linux default is half of
 * `hardware_concurrency()` (microsoft/onnxruntime#13974): one thread on a 2-vCPU host, three of
 * Lambda's six, so without this the engine leaves half the CPUs it pays for idle. Measured on the
 * full-size UNet (`npm run bench:sessions`, README): one call 5.0 s on 1 thread, 2.9 s on 2.
 */
export function resolveThreads(requested: number | undefined): number {
  return requested ?? availableParallelism();
}
