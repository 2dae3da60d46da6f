/**
 * Lambda mode's wait and cost figures: staged bytes at the premised S3 rates, measured parts scaled
 * to Lambda's vCPUs by Amdahl's law, and an image from the model's own defaults.
 */
import type { ModelInfo } from '../../contract/model-info';
import { estimateLambdaEngine, LAMBDA_PREMISES, MEASURED_PARTS, parallelFraction, scaledSeconds } from '../../lib/config/lambda-engine-estimate';

const LCM: ModelInfo = { width: 512, height: 512, scheduler: 'lcm', steps: 4, guidance_scale: 1, accepts_init_image: true, accepts_negative_prompt: false, decoder: 'tiny' };
const GUIDED: ModelInfo = { ...LCM, scheduler: 'euler', steps: 25, guidance_scale: 7.5, accepts_negative_prompt: true };

describe('scaling a measured part', () => {
  it('keeps a serial part, divides a wholly parallel one by the added cores, and lands between for a mix', () => {
    expect(scaledSeconds({ seconds: 12, parallelFraction: 0 }, 2, 6)).toBe(12);
    expect(scaledSeconds({ seconds: 12, parallelFraction: 1 }, 2, 6)).toBeCloseTo(4, 10);
    // 0.1 serial + 0.9 / 6 against 0.1 + 0.9 / 2.
    expect(scaledSeconds({ seconds: 11, parallelFraction: 0.9 }, 2, 6)).toBeCloseTo(5, 10);
  });

  it('takes the parallel fraction from 1-thread CPU time against n-thread wall time, within 0 and 1', () => {
    expect(parallelFraction(20, 10, 2)).toBeCloseTo(1, 10);
    expect(parallelFraction(20, 20, 2)).toBe(0);
    expect(parallelFraction(18, 10, 2)).toBeCloseTo((1 - 10 / 18) / 0.5, 10);
    expect(parallelFraction(30, 10, 2)).toBe(1);
    expect(parallelFraction(10, 12, 2)).toBe(0);
    expect(parallelFraction(10, 5, 1)).toBe(0);
  });
});

describe('estimateLambdaEngine', () => {
  const unetCall = scaledSeconds(MEASURED_PARTS.unetCall, 2, LAMBDA_PREMISES.vcpus);

  it('stages the model at the slower of its ranges at one stream each and all streams together', () => {
    const rate = Math.min(LAMBDA_PREMISES.s3AggregateMBps, LAMBDA_PREMISES.s3StreamMBps * LAMBDA_PREMISES.rangesInFlight);
    expect(estimateLambdaEngine({ bytes: 2e9, info: LCM }).stagingSeconds).toBeCloseTo(2000 / rate, 10);
    expect(estimateLambdaEngine({ bytes: 4e9, info: LCM }).stagingSeconds).toBeCloseTo(4000 / rate, 10);
    const estimate = estimateLambdaEngine({ bytes: 2e9, info: LCM });
    expect(estimate.coldStartSeconds).toBeCloseTo(estimate.stagingSeconds + estimate.loadSeconds, 10);
  });

  it('takes a model of unknown files and defaults to be the measured export as the Hub ships it, a 4-step LCM model with the tiny decoder', () => {
    expect(estimateLambdaEngine({})).toEqual(
      estimateLambdaEngine({ bytes: LAMBDA_PREMISES.measuredModelBytes, inlineWeightBytes: LAMBDA_PREMISES.unknownInlineWeightBytes, info: LCM, safetyChecker: false }),
    );
  });

  it('loads slower by the weights a model keeps inside its graphs, and by the safety checker where it runs', () => {
    const external = estimateLambdaEngine({ inlineWeightBytes: 0, info: LCM });
    expect(estimateLambdaEngine({ inlineWeightBytes: 2e9, info: LCM }).loadSeconds - external.loadSeconds).toBeCloseTo(2 * MEASURED_PARTS.inlineWeightsPerGb.seconds, 10);
    expect(estimateLambdaEngine({ inlineWeightBytes: 0, info: LCM, safetyChecker: true }).loadSeconds - external.loadSeconds).toBeCloseTo(MEASURED_PARTS.safetyCheckerSession.seconds, 10);
    expect(external.secondsPerImage).toBe(estimateLambdaEngine({ inlineWeightBytes: 2e9, info: LCM }).secondsPerImage);
  });

  it("counts the model's UNet calls: two a guided step, one more for PNDM, and the decoder it runs", () => {
    const lcm = estimateLambdaEngine({ info: LCM }).secondsPerImage;
    const guided = estimateLambdaEngine({ info: GUIDED }).secondsPerImage;
    expect(guided - lcm).toBeCloseTo((50 - 4) * unetCall + scaledSeconds(MEASURED_PARTS.encodePrompt, 2, 6), 10);
    const pndm = estimateLambdaEngine({ info: { ...GUIDED, scheduler: 'pndm' } }).secondsPerImage;
    expect(pndm - guided).toBeCloseTo(2 * unetCall, 10);
    // An LCM-distilled model takes no negative prompt: its guidance is built in, one call a step.
    expect(estimateLambdaEngine({ info: { ...LCM, guidance_scale: 8.5 } }).secondsPerImage).toBeCloseTo(lcm, 10);
    const full = estimateLambdaEngine({ info: { ...LCM, decoder: 'full' } }).secondsPerImage;
    expect(full - lcm).toBeCloseTo(scaledSeconds(MEASURED_PARTS.fullDecode, 2, 6) - scaledSeconds(MEASURED_PARTS.tinyDecode, 2, 6), 10);
  });
});
