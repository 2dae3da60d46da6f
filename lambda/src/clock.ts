/**
 * The one source of time on a request path. Composition roots (`aws-dependencies.ts`, `local/`)
 * build it once and hand the same function to the gateway, its backends, stores, probes and guards,
 * so a test that moves the clock moves it everywhere, and no part can judge a job by another time.
 */
export type Clock = () => Date;

/** The host's clock, for composition roots only: every other module takes a `Clock`. */
export const systemClock: Clock = () => new Date();
