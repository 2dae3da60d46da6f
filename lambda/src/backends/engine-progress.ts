import type { S3Client } from '@aws-sdk/client-s3';
import { engineProgressSchema, type EngineProgress } from '../../../contract/engine-invocation';
import { readObjectIfExists } from './s3-uri';

/** The engine function's progress object, or undefined before it started (or if it is unreadable). */
export async function readEngineProgress(s3: S3Client, uri: string): Promise<EngineProgress | undefined> {
  const text = await readObjectIfExists(s3, uri);
  if (text === undefined) return undefined;
  try {
    const parsed = engineProgressSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
