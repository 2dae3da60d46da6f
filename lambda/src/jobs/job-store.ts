import type { JobStatus } from '../../../contract/job';
import type { JobRecord } from './job';

/** Where jobs are kept: DynamoDB in AWS, a folder locally. */
export interface JobStore {
  create(job: JobRecord): Promise<void>;
  get(id: string): Promise<JobRecord | undefined>;
  /**
   * Replaces the job if its stored status is still `from`. Returns false when another request
   * already moved it on, so side effects of a transition (metrics) happen exactly once.
   */
  transition(from: JobStatus, job: JobRecord): Promise<boolean>;
}

/** Jobs in process memory; the base of the local store and the benchmark's store. */
export class MemoryJobStore implements JobStore {
  protected readonly jobs = new Map<string, JobRecord>();

  async create(job: JobRecord): Promise<void> {
    if (this.jobs.has(job.id)) throw new Error(`job ${job.id} already exists`);
    this.jobs.set(job.id, job);
  }

  async get(id: string): Promise<JobRecord | undefined> {
    return this.jobs.get(id);
  }

  async transition(from: JobStatus, job: JobRecord): Promise<boolean> {
    // Check and set with no await between them: atomic on the event loop.
    if (this.jobs.get(job.id)?.status !== from) return false;
    this.jobs.set(job.id, job);
    return true;
  }
}
