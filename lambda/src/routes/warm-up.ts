import type { APIGatewayProxyResult } from 'aws-lambda';
import type { ApiWarmUp } from '../../../contract/warmup';
import type { RouteContext } from './route-context';
import { clientIp } from '../http/request';
import { jsonResponse } from '../http/responses';
import { readBackendStatus } from './backend-status';

/**
 * `POST /v1/warmups`: starts loading the engine while the visitor is still typing. Idempotent and
 * cheap: no job, no quota; at most one warm-up in flight per deployment (a lease as long as a cold
 * start, so the next visit after it lapses may warm again); a warm backend is left alone.
 */
export async function warmUp(context: RouteContext): Promise<APIGatewayProxyResult> {
  const { deps, now } = context;
  await deps.rateLimit?.admit(clientIp(context.event), 'warmUp', now);
  const { state } = await readBackendStatus(context);
  const answer = (warming: boolean) => jsonResponse(200, { state, warming } satisfies ApiWarmUp);
  const { backend, warmUpLock } = deps;
  if (!backend.warmUp || !warmUpLock || state === 'warm') return answer(false);
  const leaseEnds = new Date(now.getTime() + deps.config.coldStartSeconds * 1000);
  if (!(await warmUpLock.tryAcquire(now, leaseEnds))) return answer(true);
  let started: boolean;
  try {
    // Charged before the GPU is woken, and refused once today's budget is spent; never refunded.
    if (backend.warmUpWakesGpu) await deps.gpuTime?.admit(0, now);
    started = await backend.warmUp();
  } catch (error) {
    await warmUpLock.release().catch(() => undefined);
    throw error;
  }
  if (!started) await warmUpLock.release();
  context.annotate({ warm_up: started ? 'started' : 'not_needed' });
  return answer(started);
}
