import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * No test may depend on today's date (issue 19): the tests that hold dates, expiries, quota days
 * and rate windows run again with the system clock moved years ahead and years back. libfaketime
 * moves the clock under the whole child process (Node, jest, the SDKs alike), which a faked
 * `Date` in one realm would not.
 */
const ROOT = join(__dirname, '..', '..');
const FAKETIME = '/usr/bin/faketime';

/** The tests whose verdicts involve the wall clock: fixed dates, TTLs, UTC days and windows. */
const CLOCK_SENSITIVE = [
  'test/gateway/gateway-lambda.test.ts',
  'test/gateway/gateway-async.test.ts',
  'test/gateway/cancel-and-expiry.test.ts',
  'test/gateway/status-and-retention.test.ts',
  'test/gateway/quota.test.ts',
  'test/gateway/rate-limit.test.ts',
  'test/gateway/gpu-time.test.ts',
  'test/gateway/job-reference.test.ts',
  'test/gateway/dynamodb-stores.emulator.test.ts',
  'test/gateway/s3-image-store.emulator.test.ts',
  'test/gateway/s3-backends.emulator.test.ts',
  'test/local/local-parts.test.ts',
  'test/local/local-faults.test.ts',
];

/** Ten years ahead (past 2036) and five years back, both far from any date the tests were written on. */
const OFFSETS = ['+3650d', '-1825d'];

interface Run {
  readonly code: number | null;
  readonly output: string;
}

function jestUnderFakedClock(offset: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      FAKETIME,
      ['-f', offset, process.execPath, require.resolve('jest/bin/jest'), '--ci', '--silent', '--maxWorkers=1', '--runTestsByPath', ...CLOCK_SENSITIVE],
      // Monotonic time stays real so timers and the SDKs' retry delays behave; only the wall clock moves.
      { cwd: ROOT, env: { ...process.env, FAKETIME_DONT_FAKE_MONOTONIC: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('the clock-sensitive tests with the system clock faked', () => {
  it('has faketime and lists only test files that exist', () => {
    // .ci/run installs it; a missing faketime must fail here, not skip the check.
    expect({ faketime: existsSync(FAKETIME) }).toEqual({ faketime: true });
    for (const path of CLOCK_SENSITIVE) expect(existsSync(join(ROOT, path))).toBe(true);
  });

  it.each(OFFSETS)('pass with the clock moved %s', async (offset) => {
    const run = await jestUnderFakedClock(offset);
    if (run.code !== 0) throw new Error(`jest under faketime ${offset} exited ${run.code}:\n${run.output.slice(-6000)}`);
    expect(run.output).toMatch(new RegExp(`Test Suites: ${CLOCK_SENSITIVE.length} passed`));
  }, 300_000);
});
