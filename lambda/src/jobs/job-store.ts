import type { JobStatus } from '../../../contract/job';
import { toStoredJob, type JobKey, type JobRecord, type StoredJob } from './job';

/**
 * Where jobs are kept: DynamoDB in AWS, a folder locally. Stores key jobs by their reference and
 * never keep the id: whoever can read the table or the folder cannot fetch anyone's images.
 */
export interface JobStore {
  create(job: JobRecord): Promise<void>;
  get(key: JobKey): Promise<JobRecord | undefined>;
  /**
   * Replaces the job if its stored status is still `from`. Returns false when another request
   * already moved it on, so side effects of a transition (metrics) happen exactly once.
   */
  transition(from: JobStatus, job: JobRecord): Promise<boolean>;
}

/** Jobs in process memory; the base of the local store and the benchmark's store. */
export class MemoryJobStore implements JobStore {
  protected readonly jobs = new Map<string, StoredJob>();

  async create(job: JobRecord): Promise<void> {
    if (this.jobs.has(job.ref)) throw new Error(`job ${job.ref} already exists`);
    this.jobs.set(job.ref, toStoredJob(job));
  }

  async get(key: JobKey): Promise<JobRecord | undefined> {
    const stored = this.jobs.get(key.ref);
    return stored && { ...stored, id: key.id };
  }

  async transition(from: JobStatus, job: JobRecord): Promise<boolean> {
    // Check and set with no await between them: atomic on the event loop.
    if (this.jobs.get(job.ref)?.status !== from) return false;
    this.jobs.set(job.ref, toStoredJob(job));
    return true;
  }
}
