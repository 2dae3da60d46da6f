import type { SchedulerConfigJson } from './scheduler';

const NON_FINITE: Readonly<Record<string, number>> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };
const SENTINEL = '\u0000python-json:';

/**
 * Parses JSON written by Python's `json` module, which writes `-Infinity`, `Infinity` and `NaN`
 * as bare tokens (diffusers saves `lambda_min_clipped: -inf` that way); `JSON.parse` rejects them.
 */
export function parsePythonJson(text: string): unknown {
  const quoted = text.replace(/"(?:[^"\\]|\\.)*"|-?Infinity|NaN/g, (token) =>
    // The sentinel's NUL is written escaped: JSON strings cannot hold raw control characters.
    token.startsWith('"') ? token : `"\\u0000python-json:${token}"`,
  );
  return JSON.parse(quoted, (_key, value: unknown) =>
    typeof value === 'string' && value.startsWith(SENTINEL) ? NON_FINITE[value.slice(SENTINEL.length)] : value,
  );
}

/** A `scheduler_config.json` file's text as the object `createScheduler` takes. */
export function parseSchedulerConfig(text: string): SchedulerConfigJson {
  const value = parsePythonJson(text);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new SyntaxError('scheduler_config.json must hold a JSON object');
  }
  return value as SchedulerConfigJson;
}
