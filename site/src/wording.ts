import { ApiError, CLIENT_ERROR_CODES } from './api-error';
import type { Job } from '../../contract/job';
import type { ApiStatus } from '../../contract/status';

/** What the page tells a visitor: a short title, then the detail (often the API's own words). */
export interface Notice {
  readonly title: string;
  readonly detail?: string;
  /** The request field the notice is about, so the form can point at it. */
  readonly field?: string;
}

/** Names a visitor sees in the form, by API field. */
export const FIELD_LABELS: Readonly<Record<string, string>> = {
  prompt: 'Prompt',
  negative_prompt: 'Negative prompt',
  steps: 'Steps',
  guidance_scale: 'Guidance',
  width: 'Width',
  height: 'Height',
  seed: 'Seed',
  scheduler: 'Scheduler',
  num_images: 'Number of images',
  output_format: 'File format',
  body: 'Request',
};

/** Shown in place of an image the model's safety checker withheld: calm, never a black square. */
export const WITHHELD_IMAGE_TEXT = "This image was held back by the site's content filter. Try another prompt or seed.";

/** Announced when a finished job had images withheld, after the usual "Done". */
export function describeWithheldOutcome(total: number, withheld: number): string {
  if (withheld >= total) return total === 1 ? "The site's content filter held back your image." : `The site's content filter held back all ${total} images.`;
  return `${withheld} of your ${total} images ${withheld === 1 ? 'was' : 'were'} held back by the site's content filter.`;
}

/** The history's note on a job with withheld images. */
export function describeWithheld(count: number): string {
  return count === 1 ? '1 image held back by the content filter' : `${count} images held back by the content filter`;
}

const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? '' : 's'}`;

/** A running clock: `0:07`, `12:34`, `1:02:03`. */
export function formatElapsed(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = String(s % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${seconds}` : `${minutes}:${seconds}`;
}

/** An estimate, worded as one: rounded, never falsely precise. */
export function formatApproxDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  if (s < 10) return 'a few seconds';
  if (s < 55) return `about ${Math.round(s / 10) * 10} seconds`;
  const minutes = Math.round(s / 60);
  if (minutes < 60) return `about ${plural(minutes, 'minute')}`;
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return `about ${plural(hours, 'hour')}${rest > 0 ? ` ${plural(rest, 'minute')}` : ''}`;
}

/** A delay a visitor must respect: rounded up, so following it never fails again. */
export function formatRetryDelay(totalSeconds: number): string {
  const s = Math.max(1, Math.ceil(totalSeconds));
  if (s < 60) return plural(s, 'second');
  const minutes = Math.ceil(s / 60);
  if (minutes < 60) return plural(minutes, 'minute');
  const hours = Math.floor(minutes / 60);
  const rest = minutes % 60;
  return `${plural(hours, 'hour')}${rest > 0 ? ` ${plural(rest, 'minute')}` : ''}`;
}

/** `14:05` in the visitor's (or the given) time zone. */
export function formatClockTime(date: Date, timeZone?: string): string {
  return new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23', timeZone }).format(date);
}

function whenToRetry(retryAfterSeconds: number | undefined, now: Date, timeZone?: string): string {
  if (retryAfterSeconds === undefined) return 'Please try again later.';
  const at = new Date(now.getTime() + Math.ceil(retryAfterSeconds) * 1000);
  return `You can try again in ${formatRetryDelay(retryAfterSeconds)} (at ${formatClockTime(at, timeZone)}).`;
}

/** Words for a failed API call. Validation keeps the API's message verbatim: it names the limit. */
export function describeError(error: ApiError, now: Date = new Date(), timeZone?: string): Notice {
  switch (error.code) {
    case 'invalid_request': {
      const field = error.field;
      const label = field !== undefined ? FIELD_LABELS[field] : undefined;
      return {
        title: label !== undefined && field !== 'body' ? `Please check “${label}”.` : 'Please check your settings.',
        detail: capitalize(error.message),
        field,
      };
    }
    case 'quota_exceeded':
      return {
        title: 'You have made as many images as one visitor may for now.',
        detail: whenToRetry(error.retryAfterSeconds, now, timeZone),
      };
    case 'spend_guard':
      return {
        title: 'This site has spent its image budget for today, so it is taking a break.',
        detail: `${capitalize(error.message)}${/[.!]$/.test(error.message) ? '' : '.'} ${whenToRetry(error.retryAfterSeconds, now, timeZone)}`,
      };
    case 'body_too_large':
      return { title: 'Your request is too long to send.', detail: 'Shorten the prompt or the negative prompt and try again.' };
    case 'not_found':
      return { title: 'This image is no longer available.', detail: 'Results are only kept for a while.' };
    case CLIENT_ERROR_CODES.network:
      return {
        title: 'The image service could not be reached.',
        detail: 'Check your connection, then try again.',
      };
    default:
      return {
        title: error.status === 429 || error.status === 503 ? 'The image service is busy.' : 'Something went wrong on our side.',
        detail: [
          error.retryAfterSeconds !== undefined ? whenToRetry(error.retryAfterSeconds, now, timeZone) : 'Please try again in a moment.',
          error.requestId !== undefined ? `(Reference: ${error.requestId})` : '',
        ]
          .join(' ')
          .trim(),
      };
  }
}

/** Words for a job that ended without images. */
export function describeJobEnd(job: Job): Notice {
  if (job.status === 'canceled') {
    return { title: 'Canceled.', detail: 'Nothing more will be made for this request, and no image of it is kept.' };
  }
  if (job.status === 'expired') {
    return { title: 'This result has expired.', detail: 'Images are only kept for a while; generate it again with the same settings.' };
  }
  return {
    title: 'The image could not be made.',
    detail: job.error !== undefined ? capitalize(job.error.message) : 'Please try again.',
  };
}

/**
 * The page's note about the generator: while the visit's warm-up runs and the generator is not
 * warm yet, "Getting ready…"; otherwise the gateway's own sentence for its state.
 */
export function describeBackendNote(backend: ApiStatus | undefined, warmingUp: boolean): string | undefined {
  if (warmingUp && backend?.state !== 'warm') return 'Getting ready…';
  return backend?.message;
}

const estimate = (backend: ApiStatus) =>
  backend.estimated_wait_seconds > 0 ? ` Estimated wait: ${formatApproxDuration(backend.estimated_wait_seconds)}.` : '';

/**
 * The announced phase of a generation. Numbers that tick (elapsed, estimate) stay out of it so a
 * screen reader is not interrupted every second; {@link describeWaitClock} carries them.
 */
export function describeProgress(status: Job['status'] | 'sending', backend: ApiStatus | undefined, numImages: number): string {
  const images = numImages === 1 ? 'your image' : `your ${numImages} images`;
  switch (status) {
    case 'sending':
      return 'Sending your request…';
    case 'queued':
      if (backend?.state === 'cold') return `The generator was asleep and is waking up for you.${estimate(backend)}`;
      if (backend?.state === 'warming') return `The generator is starting up; your request waits until it is ready.${estimate(backend)}`;
      return backend !== undefined && backend.queue_depth > 1
        ? `Queued behind other requests (${backend.queue_depth} waiting).`
        : 'Queued: your request is next.';
    case 'running':
      return `Generating ${images}…`;
    case 'succeeded':
      return numImages === 1 ? 'Done: your image is ready.' : `Done: your ${numImages} images are ready.`;
    case 'canceled':
      return 'Canceled.';
    case 'failed':
    case 'expired':
      return 'The generation did not finish.';
  }
}

/** The ticking line under the status: how long so far and, while waiting on a start-up, how long to go. */
export function describeWaitClock(elapsedSeconds: number, backend: ApiStatus | undefined, estimateAgeSeconds: number): string {
  const elapsed = `Elapsed ${formatElapsed(elapsedSeconds)}`;
  if (backend === undefined || backend.state === 'warm') return elapsed;
  const left = backend.estimated_wait_seconds - estimateAgeSeconds;
  return left > 0
    ? `${elapsed} · estimated ${formatApproxDuration(left)} more`
    : `${elapsed} · taking longer than estimated, still starting`;
}

function capitalize(text: string): string {
  return text.length === 0 ? text : text[0].toUpperCase() + text.slice(1);
}

/** The bar's label for a step count the backend reported. */
export function describeStepProgress(step: number, steps: number): string {
  return `Step ${step} of ${steps} (${Math.round((step / steps) * 100)}%)`;
}

/** The bar's label for a guess, said to be one. */
export function describeEstimatedProgress(fraction: number): string {
  return `About ${Math.round(fraction * 100)}% (estimated from the expected time)`;
}

/**
 * What the status region says as the bar moves: once per quarter reached, so a screen reader
 * hears a few milestones per image rather than every step.
 */
export function progressMilestone(fraction: number, lastQuarter: number): { readonly quarter: number; readonly text?: string } {
  const quarter = Math.min(3, Math.floor(fraction * 4));
  // The start needs no words: the phase ("Generating…") was just said.
  if (quarter <= lastQuarter || quarter === 0) return { quarter: Math.max(quarter, lastQuarter) };
  return { quarter, text: quarter === 2 ? 'About half done.' : `About ${quarter * 25}% done.` };
}

/** The live preview's alt text. */
export function describePreview(step: number, steps: number): string {
  return `Preview after step ${step} of ${steps}`;
}
