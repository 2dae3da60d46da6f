import { engineInvocationSchema, engineWarmUpEventSchema, type EngineInvocation } from '../../contract/engine-invocation';
import type { ErrorBody } from '../../contract/errors';

/** The part of Lambda's on-failure destination record this function reads. */
export interface AsyncFailureRecord {
  readonly requestContext?: { readonly condition?: string };
  readonly requestPayload?: unknown;
  readonly responsePayload?: { readonly errorType?: string; readonly errorMessage?: string } | null;
}

/**
 * What the job reports when the engine function could not answer for itself: it ran out of time
 * or memory, crashed, or its event waited in Lambda's queue past its maximum age. Messages are for
 * the public; the raw error stays in the function's logs.
 */
export function failureOf(record: AsyncFailureRecord): { readonly invocation: EngineInvocation; readonly body: ErrorBody } | undefined {
  const parsed = engineInvocationSchema.safeParse(record.requestPayload);
  if (!parsed.success) return undefined;
  const message = record.responsePayload?.errorMessage ?? '';
  const type = record.responsePayload?.errorType ?? '';
  let body: ErrorBody;
  if (record.requestContext?.condition === 'EventAgeExceeded') {
    body = { error: { code: 'timeout', message: 'the request waited too long for the image generator and was dropped' } };
  } else if (/Task timed out/i.test(message)) {
    body = { error: { code: 'timeout', message: 'the generation ran past the time limit of the image generator' } };
  } else if (/signal: killed|out of memory|Runtime\.OutOfMemory/i.test(`${type} ${message}`)) {
    body = { error: { code: 'internal_error', message: 'the image generator ran out of memory on this request' } };
  } else {
    body = { error: { code: 'internal_error', message: 'the image generator stopped unexpectedly' } };
  }
  return { invocation: parsed.data, body };
}

/**
 * A warm-up event (a visitor's, or keep-warm's) that never ran: `dropped` when it waited in the
 * queue past its age (keep-warm pings behind a concurrency of zero, such as the budget action's),
 * `failed` when the function could not load the model for it. Undefined for any other record.
 */
export function warmUpOutcome(record: AsyncFailureRecord): 'dropped' | 'failed' | undefined {
  if (!engineWarmUpEventSchema.safeParse(record.requestPayload).success) return undefined;
  return record.requestContext?.condition === 'EventAgeExceeded' ? 'dropped' : 'failed';
}
