/** Runs a local command for a check (Docker); injectable so that tests do not depend on one. */
import { execFile } from 'node:child_process';

export interface CommandResult {
  /** null when the command did not run to an exit (missing, killed, timed out). */
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The executable was not found. */
  readonly missing: boolean;
}

export type CommandRunner = (command: string, args: readonly string[]) => Promise<CommandResult>;

/** A hung Docker daemon must not hang the preflight. */
const COMMAND_TIMEOUT_MS = 30_000;

export const runCommand: CommandRunner = (command, args) =>
  new Promise((resolve) => {
    execFile(command, [...args], { timeout: COMMAND_TIMEOUT_MS, encoding: 'utf8' }, (error, stdout, stderr) => {
      const code = (error as NodeJS.ErrnoException | null)?.code;
      resolve({
        exitCode: error ? (typeof code === 'number' ? code : null) : 0,
        stdout,
        stderr: stderr || (error && typeof code !== 'number' ? error.message : ''),
        missing: code === 'ENOENT',
      });
    });
  });
