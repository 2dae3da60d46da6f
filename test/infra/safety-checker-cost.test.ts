/**
 * The safety checker's time in the lambda mode's sizing and cost: per image in the engine
 * function's timeout and bill where the checker runs (safety.checker `model` and a folder that has
 * one), nothing where it does not.
 */
import { parseDeploymentConfig } from '../../lib/config/deployment-config';
import { costReport, formatCostReport } from '../../lib/cost/cli';
import { costSettings, usageCost } from '../../lib/cost/cost-model';
import { LIMITS } from '../../contract/limits';

const X86_GB_SECOND = 0.0000166667;
const SAFETY_MODEL = 'test/fixtures/oracle/models/tiny-sd-safety';
const LAMBDA = { mode: 'lambda', lambdaSecondsPerStep: 0.5, coldStartSeconds: 60 } as const;

test('the checker adds its seconds per image to the timeout where it runs, and nothing where it does not', () => {
  const checked = parseDeploymentConfig({ backend: LAMBDA, model: { localPath: SAFETY_MODEL } });
  expect(checked.backend.lambdaSafetyCheckSecondsPerImage).toBe(1.1);
  // A cold start of 60 s, then 4 images of 50 steps at 0.5 s, a 5 s decode and a 1.1 s check each, a fifth to spare.
  expect(checked.backend.lambdaTimeoutSeconds).toBe(Math.ceil((60 + LIMITS.numImagesMax * (LIMITS.stepsMax * 0.5 + 5 + 1.1)) * 1.2));
  const off = parseDeploymentConfig({ backend: LAMBDA, model: { localPath: SAFETY_MODEL }, safety: { checker: 'off' } });
  const noChecker = parseDeploymentConfig({ backend: LAMBDA });
  for (const config of [off, noChecker]) {
    expect(config.backend.lambdaSafetyCheckSecondsPerImage).toBe(0);
    expect(config.backend.lambdaTimeoutSeconds).toBe(Math.ceil((60 + LIMITS.numImagesMax * (LIMITS.stepsMax * 0.5 + 5)) * 1.2));
  }
  // A model in S3 may ship a checker: the timeout leaves room for it.
  expect(parseDeploymentConfig({ backend: LAMBDA, model: { s3Uri: 's3://models/sd/' } }).backend.lambdaSafetyCheckSecondsPerImage).toBe(1.1);
});

test('npm run cost bills the checker per image on the engine function and says what it is', () => {
  const settings = costSettings(parseDeploymentConfig({ backend: { ...LAMBDA, lambdaSecondsPerSafetyCheck: 2 }, model: { localPath: SAFETY_MODEL } }));
  expect(usageCost(settings, { imagesPerDay: 100, wakeUpsPerDay: 0 }).items['Safety checker']).toBeCloseTo(100 * 2 * 10 * X86_GB_SECOND, 12);
  const report = costReport(['--set', 'backend.mode="lambda"', '--set', 'backend.secondsPerImage=20', '--set', `model.localPath="${SAFETY_MODEL}"`, '--images-per-day', '100']);
  expect(report.safetyCheckSecondsPerImage).toBe(1.1);
  const text = formatCostReport(report);
  expect(text).toContain('Safety checker: 1.1 s per image on the engine function (backend.lambdaSecondsPerSafetyCheck');
  expect(text).toMatch(/Safety checker\s+\$0\.0183/);
  expect(costReport(['--set', 'backend.mode="lambda"', '--images-per-day', '100']).usageItems['Safety checker']).toBeUndefined();
});
