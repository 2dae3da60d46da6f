import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobStatus } from '../../../contract/job';
import { toStoredJob, type JobKey, type JobRecord, type StoredJob } from './job';
import { JOB_ID_PATTERN } from './job-id';
import { MemoryJobStore } from './job-store';

/**
 * Local mode's job store: memory is the truth while the process runs (so transitions stay atomic),
 * and every change is written to `<dir>/<ref>.json` so jobs can be inspected and survive a restart.
 * References are base64url HMACs, so they are safe file names.
 */
export class FileJobStore extends MemoryJobStore {
  constructor(private readonly dir: string) {
    super();
    mkdirSync(dir, { recursive: true });
    // An earlier version named records by the raw id and kept it inside: the credential on disk.
    for (const name of readdirSync(dir)) {
      if (name.endsWith('.json') && JOB_ID_PATTERN.test(name.slice(0, -'.json'.length))) rmSync(join(dir, name), { force: true });
    }
  }

  override async create(job: JobRecord): Promise<void> {
    await super.create(job);
    this.persist(job);
  }

  override async get(key: JobKey): Promise<JobRecord | undefined> {
    const known = await super.get(key);
    if (known) return known;
    let text: string;
    try {
      text = readFileSync(this.file(key.ref), 'utf8');
    } catch {
      return undefined;
    }
    if (!this.jobs.has(key.ref)) this.jobs.set(key.ref, JSON.parse(text) as StoredJob);
    return super.get(key);
  }

  override async transition(from: JobStatus, job: JobRecord): Promise<boolean> {
    const moved = await super.transition(from, job);
    if (moved) this.persist(job);
    return moved;
  }

  private file(ref: string): string {
    return join(this.dir, `${ref}.json`);
  }

  private persist(job: JobRecord): void {
    // Write then rename, so a crash never leaves half a job on disk.
    const temporary = `${this.file(job.ref)}.tmp`;
    writeFileSync(temporary, JSON.stringify(toStoredJob(job), null, 2));
    renameSync(temporary, this.file(job.ref));
  }
}
