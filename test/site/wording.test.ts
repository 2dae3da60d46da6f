import { ApiError, CLIENT_ERROR_CODES } from '../../site/src/api-error';
import type { ApiStatus } from '../../contract/status';
import {
  describeBackendNote,
  describeError,
  describeEstimatedProgress,
  describeJobEnd,
  describeProgress,
  describeStepProgress,
  describeWaitClock,
  formatApproxDuration,
  formatElapsed,
  formatRetryDelay,
  progressMilestone,
} from '../../site/src/wording';

const NOW = new Date('2025-06-01T12:00:00Z');

const backend = (overrides: Partial<ApiStatus>): ApiStatus => ({
  state: 'warm',
  instances: { current: 1, desired: 1 },
  queue_depth: 0,
  estimated_wait_seconds: 0,
  message: '',
  ...overrides,
});

describe('durations', () => {
  it('shows elapsed time as a clock', () => {
    expect(formatElapsed(0)).toBe('0:00');
    expect(formatElapsed(7.9)).toBe('0:07');
    expect(formatElapsed(754)).toBe('12:34');
    expect(formatElapsed(3723)).toBe('1:02:03');
  });

  it('rounds estimates instead of pretending precision', () => {
    expect(formatApproxDuration(4)).toBe('a few seconds');
    expect(formatApproxDuration(37)).toBe('about 40 seconds');
    expect(formatApproxDuration(61)).toBe('about 1 minute');
    expect(formatApproxDuration(290)).toBe('about 5 minutes');
    expect(formatApproxDuration(3900)).toBe('about 1 hour 5 minutes');
    expect(formatApproxDuration(7200)).toBe('about 2 hours');
  });

  it('rounds retry delays up so following them never fails again', () => {
    expect(formatRetryDelay(1)).toBe('1 second');
    expect(formatRetryDelay(45)).toBe('45 seconds');
    expect(formatRetryDelay(61)).toBe('2 minutes');
    expect(formatRetryDelay(3600)).toBe('1 hour');
    expect(formatRetryDelay(11_521)).toBe('3 hours 13 minutes');
  });
});

describe('describeError', () => {
  it('keeps the API validation message and names the field', () => {
    const notice = describeError(
      new ApiError({ status: 400, code: 'invalid_request', message: 'steps must be at most 50', field: 'steps' }),
      NOW,
    );
    expect(notice).toEqual({ title: 'Please check “Steps”.', detail: 'Steps must be at most 50', field: 'steps' });
  });

  it('gives the quota retry time as a delay and a clock time', () => {
    const notice = describeError(
      new ApiError({ status: 429, code: 'quota_exceeded', message: 'daily quota used', retryAfterSeconds: 3 * 3600 + 5 * 60 }),
      NOW,
      'UTC',
    );
    expect(notice.title).toMatch(/as many images as one visitor may/);
    expect(notice.detail).toBe('You can try again in 3 hours 5 minutes (at 15:05).');
  });

  it('explains the spend guard with the server message and when to come back', () => {
    const notice = describeError(
      new ApiError({
        status: 503,
        code: 'spend_guard',
        message: 'the daily image budget of this site is used up; try again after 00:00 UTC',
        retryAfterSeconds: 12 * 3600,
      }),
      NOW,
      'UTC',
    );
    expect(notice.title).toMatch(/image budget/);
    expect(notice.detail).toBe(
      'The daily image budget of this site is used up; try again after 00:00 UTC. You can try again in 12 hours (at 00:00).',
    );
  });

  it('asks to try later when a quota gives no retry time', () => {
    const notice = describeError(new ApiError({ status: 429, code: 'quota_exceeded', message: 'x' }), NOW);
    expect(notice.detail).toBe('Please try again later.');
  });

  it('words network failures and unknown server errors without jargon, keeping the reference', () => {
    expect(describeError(new ApiError({ status: 0, code: CLIENT_ERROR_CODES.network, message: 'x' }), NOW).title).toBe(
      'The image service could not be reached.',
    );
    const internal = describeError(new ApiError({ status: 500, code: 'internal_error', message: 'x', requestId: 'req-42' }), NOW);
    expect(internal.title).toBe('Something went wrong on our side.');
    expect(internal.detail).toBe('Please try again in a moment. (Reference: req-42)');
  });
});

describe('progress and backend wording', () => {
  it('says plainly when a request waits for the generator to wake, and how long', () => {
    expect(describeProgress('queued', backend({ state: 'cold', estimated_wait_seconds: 250 }), 1)).toBe(
      'The generator was asleep and is waking up for you. Estimated wait: about 4 minutes.',
    );
    expect(describeProgress('queued', backend({ state: 'warming', estimated_wait_seconds: 0 }), 1)).toBe(
      'The generator is starting up; your request waits until it is ready.',
    );
    expect(describeProgress('running', undefined, 3)).toBe('Generating your 3 images…');
  });

  it('counts the estimate down and admits when it is exceeded', () => {
    const warming = backend({ state: 'warming', estimated_wait_seconds: 240 });
    expect(describeWaitClock(65, warming, 60)).toBe('Elapsed 1:05 · estimated about 3 minutes more');
    expect(describeWaitClock(400, warming, 300)).toBe('Elapsed 6:40 · taking longer than estimated, still starting');
    expect(describeWaitClock(5, backend({ state: 'warm' }), 0)).toBe('Elapsed 0:05');
  });

  it('explains jobs that ended without images', () => {
    expect(describeJobEnd({ id: 'a', status: 'failed', created_at: '', parameters: { prompt: 'x' }, error: { code: 'x', message: 'engine ran out of memory' } })).toEqual({
      title: 'The image could not be made.',
      detail: 'Engine ran out of memory',
    });
    expect(describeJobEnd({ id: 'a', status: 'expired', created_at: '', parameters: { prompt: 'x' } }).title).toBe('This result has expired.');
  });
});

describe('progress words', () => {
  it('labels a reported step count and an estimate differently', () => {
    expect(describeStepProgress(5, 20)).toBe('Step 5 of 20 (25%)');
    expect(describeEstimatedProgress(0.424)).toBe('About 42% (estimated from the expected time)');
  });

  it('announces each quarter once, and never a step in between', () => {
    let quarter = -1;
    const said: string[] = [];
    for (let step = 0; step <= 40; step++) {
      const milestone = progressMilestone(step / 40, quarter);
      quarter = milestone.quarter;
      if (milestone.text) said.push(milestone.text);
    }
    expect(said).toEqual(['About 25% done.', 'About half done.', 'About 75% done.']);
  });
});

describe('the note about the generator', () => {
  it('says "Getting ready…" while the visit\'s warm-up runs, and the gateway\'s own sentence otherwise', () => {
    const cold = backend({ state: 'cold', message: 'The generator is asleep.' });
    expect(describeBackendNote(cold, true)).toBe('Getting ready…');
    expect(describeBackendNote(undefined, true)).toBe('Getting ready…');
    expect(describeBackendNote(cold, false)).toBe('The generator is asleep.');
    expect(describeBackendNote(backend({ state: 'warm', message: 'Ready.' }), true)).toBe('Ready.');
    expect(describeBackendNote(undefined, false)).toBeUndefined();
  });
});
