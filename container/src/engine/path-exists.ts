import { access } from 'node:fs/promises';

/** Whether anything is at `path`: the model's optional parts are found by looking. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
