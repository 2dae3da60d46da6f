import type { ModelInfo } from '../../../contract/model-info';
import type { ApiStatus } from '../../../contract/status';
import type { BackendCapacity } from '../backends/backend';

export interface WaitModel {
  /** Seconds from "no instance" to the first image starting (instance launch, image pull, model load). */
  readonly coldStartSeconds: number;
  readonly secondsPerImage: number;
}

function minutes(seconds: number): string {
  const rounded = Math.max(1, Math.round(seconds / 60));
  return rounded === 1 ? 'about a minute' : `about ${rounded} minutes`;
}

/**
 * The wait for an image submitted now:
 * - warm: the queue ahead of it plus itself, shared by the running instances:
 *   `(queue + 1) × secondsPerImage / instances`;
 * - cold: the boot first, then the same with one instance: `coldStart + (queue + 1) × secondsPerImage`;
 * - warming (starting, or a visitor's warm-up in flight): like cold, less the time the boot has
 *   already taken when the backend knows it.
 * It is an estimate for people, rounded to whole seconds; the configured numbers come from
 * COLD_START_SECONDS and SECONDS_PER_IMAGE.
 */
export function estimateWaitSeconds(status: BackendCapacity, model: WaitModel): number {
  const work = (status.queueDepth + 1) * model.secondsPerImage;
  switch (status.state) {
    case 'warm':
      return Math.ceil(work / Math.max(1, status.instances.current));
    case 'warming':
      return Math.ceil(Math.max(0, model.coldStartSeconds - (status.warmingForSeconds ?? 0)) + work);
    case 'cold':
      return Math.ceil(model.coldStartSeconds + work);
  }
}

function messageOf(status: BackendCapacity, wait: number): string {
  switch (status.state) {
    case 'cold':
      return `The image generator is switched off while nobody uses it, to keep costs near zero. Your request starts it; the first image takes ${minutes(wait)}.`;
    case 'warming':
      return `Getting ready… The image generator is starting up; the first image takes ${minutes(wait)}.`;
    case 'warm':
      return status.queueDepth > 0
        ? `The image generator is running; ${status.queueDepth} ${status.queueDepth === 1 ? 'request is' : 'requests are'} ahead of yours.`
        : 'The image generator is running and ready.';
  }
}

export function toPublicStatus(status: BackendCapacity, model: WaitModel, deployed?: ModelInfo): ApiStatus {
  const wait = estimateWaitSeconds(status, model);
  const info = status.model ?? deployed;
  return {
    state: status.state,
    instances: { current: status.instances.current, desired: status.instances.desired },
    queue_depth: status.queueDepth,
    estimated_wait_seconds: wait,
    message: messageOf(status, wait),
    ...(info ? { model: info } : {}),
  };
}
