/** The engine's thread count, as every mode's environment names it (server, Lambda function, npm start). */
export const ENGINE_THREADS_ENV = 'ENGINE_THREADS';
export const MAX_ENGINE_THREADS = 256;

/** `ENGINE_THREADS`, refused by name when it is not a positive integer; undefined when unset. */
export function threadsFromEnv(env: Readonly<Record<string, string | undefined>>): number | undefined {
  const raw = env[ENGINE_THREADS_ENV];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > MAX_ENGINE_THREADS) {
    throw new Error(`${ENGINE_THREADS_ENV} must be an integer between 1 and ${MAX_ENGINE_THREADS} but is ${JSON.stringify(raw)}`);
  }
  return value;
}
