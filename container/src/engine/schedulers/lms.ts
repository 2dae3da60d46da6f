import type { LmsConfig } from './config';
import { SigmaScheduler } from './sigma-scheduler';

/** diffusers' `step(order=4)` default. */
const LMS_ORDER = 4;

/**
 * Linear multistep (k-diffusion `sample_lms`): the next sample integrates the Lagrange polynomial
 * through the last (up to) four ODE derivatives over [sigma_i, sigma_i+1]. Follows diffusers
 * `schedulers/scheduling_lms_discrete.py` (`LMSDiscreteScheduler`).
 */
export class LmsScheduler extends SigmaScheduler {
  readonly name = 'lms';
  /** Ring of the most recent derivatives; `newest` indexes the latest. */
  private readonly derivatives: Float32Array[] = [];
  private newest = -1;
  private count = 0;

  constructor(override readonly config: LmsConfig) {
    super(config);
  }

  protected resetHistory(): void {
    this.newest = -1;
    this.count = 0;
  }

  protected advance(modelOutput: Float32Array, sample: Float32Array, out: Float32Array, index: number): void {
    const sigma = this.sigmaAt(index);
    const [onSample, onOutput] = this.denoisedCoefficients(sigma);
    this.newest = (this.newest + 1) % LMS_ORDER;
    if (this.derivatives[this.newest]?.length !== out.length) this.derivatives[this.newest] = new Float32Array(out.length);
    const derivative = this.derivatives[this.newest];
    this.count = Math.min(this.count + 1, LMS_ORDER);
    // diffusers: order = min(step_index + 1, 4) from the absolute index, but zips the weights with the
    // derivatives kept so far; so a run that begins later (image-to-image) uses the first `count`
    // weights of a higher-order polynomial. From the start, order and count are equal.
    const order = Math.min(index + 1, LMS_ORDER);
    const kept = this.count;

    // Weights and derivatives, newest first; missing orders get weight 0 so one fused pass does all.
    const sigmas = this.sigmas as readonly number[];
    const c = [0, 0, 0, 0];
    const d: Float32Array[] = [];
    for (let k = 0; k < LMS_ORDER; k++) {
      if (k < kept) c[k] = lmsCoefficient(sigmas, order, index, k);
      d.push(this.derivatives[(this.newest - Math.min(k, kept - 1) + LMS_ORDER) % LMS_ORDER]);
    }
    const [c0, c1, c2, c3] = c;
    const [, d1, d2, d3] = d;
    for (let i = 0; i < out.length; i++) {
      const s = sample[i];
      const slope = Math.fround((s - (onSample * s + onOutput * modelOutput[i])) / sigma);
      derivative[i] = slope;
      out[i] = s + c0 * slope + c1 * d1[i] + c2 * d2[i] + c3 * d3[i];
    }
  }
}

/**
 * `∫ from sigma_t to sigma_t+1 of ∏_{k≠j} (tau - sigma_{t-k}) / (sigma_{t-j} - sigma_{t-k}) dtau`: the
 * weight of the derivative `j` steps back. diffusers integrates with `scipy.integrate.quad`; the
 * integrand is a polynomial of degree < 4, so 4-point Gauss-Legendre is exact up to rounding.
 */
export function lmsCoefficient(sigmas: readonly number[], order: number, t: number, j: number): number {
  const a = sigmas[t];
  const b = sigmas[t + 1];
  const half = (b - a) / 2;
  const mid = (a + b) / 2;
  let sum = 0;
  for (let q = 0; q < GAUSS_LEGENDRE_4.nodes.length; q++) {
    const tau = mid + half * GAUSS_LEGENDRE_4.nodes[q];
    let product = 1;
    for (let k = 0; k < order; k++) {
      if (k !== j) product *= (tau - sigmas[t - k]) / (sigmas[t - j] - sigmas[t - k]);
    }
    sum += GAUSS_LEGENDRE_4.weights[q] * product;
  }
  return sum * half;
}

// Nodes ±sqrt(3/7 ∓ 2/7·sqrt(6/5)), weights (18 ± sqrt(30)) / 36: exact for degree ≤ 7.
const INNER = Math.sqrt(3 / 7 - (2 / 7) * Math.sqrt(6 / 5));
const OUTER = Math.sqrt(3 / 7 + (2 / 7) * Math.sqrt(6 / 5));
const W_INNER = (18 + Math.sqrt(30)) / 36;
const W_OUTER = (18 - Math.sqrt(30)) / 36;
const GAUSS_LEGENDRE_4 = {
  nodes: [-OUTER, -INNER, INNER, OUTER],
  weights: [W_OUTER, W_INNER, W_INNER, W_OUTER],
} as const;
