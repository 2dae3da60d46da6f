import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './cli-errors';

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with strict checking, its errors turned into one-line usage errors. */
export function parseArguments<T extends Options>(argv: string[], options: T) {
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]);
  }
}

export function requireString(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`${flag} is required`);
  return value;
}

export function optionalInteger(value: string | undefined, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  if (!/^-?\d+$/.test(value.trim())) throw new UsageError(`${flag} must be an integer but is ${JSON.stringify(value)}`);
  const parsed = Number(value);
  if (parsed < min || parsed > max) throw new UsageError(`${flag} must be between ${min} and ${max} but is ${parsed}`);
  return parsed;
}

export function optionalNumber(value: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (value.trim() === '' || !Number.isFinite(parsed)) throw new UsageError(`${flag} must be a number but is ${JSON.stringify(value)}`);
  if (parsed < min || parsed > max) throw new UsageError(`${flag} must be between ${min} and ${max} but is ${parsed}`);
  return parsed;
}

export function optionalChoice<T extends string>(value: string | undefined, flag: string, choices: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(choices as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${choices.join(', ')} but is ${JSON.stringify(value)}`);
  return value as T;
}
