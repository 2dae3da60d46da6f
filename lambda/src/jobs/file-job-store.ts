import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JobStatus } from '../../../contract/job';
import type { JobRecord } from './job';
import { MemoryJobStore } from './job-store';

/**
 * Local mode's job store: memory is the truth while the process runs (so transitions stay atomic),
 * and every change is written to `<dir>/<id>.json` so jobs can be inspected and survive a restart.
 * Ids reach this class only after their signature was checked, so they are safe file names.
 */
export class FileJobStore extends MemoryJobStore {
  constructor(private readonly dir: string) {
    super();
    mkdirSync(dir, { recursive: true });
  }

  override async create(job: JobRecord): Promise<void> {
    await super.create(job);
    this.persist(job);
  }

  override async get(id: string): Promise<JobRecord | undefined> {
    const known = await super.get(id);
    if (known) return known;
    let text: string;
    try {
      text = readFileSync(this.file(id), 'utf8');
    } catch {
      return undefined;
    }
    const job = JSON.parse(text) as JobRecord;
    if (!this.jobs.has(id)) this.jobs.set(id, job);
    return this.jobs.get(id);
  }

  override async transition(from: JobStatus, job: JobRecord): Promise<boolean> {
    const moved = await super.transition(from, job);
    if (moved) this.persist(job);
    return moved;
  }

  private file(id: string): string {
    return join(this.dir, `${id}.json`);
  }

  private persist(job: JobRecord): void {
    // Write then rename, so a crash never leaves half a job on disk.
    const temporary = `${this.file(job.id)}.tmp`;
    writeFileSync(temporary, JSON.stringify(job, null, 2));
    renameSync(temporary, this.file(job.id));
  }
}
