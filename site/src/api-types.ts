/**
 * The public API's answers, typed by the gateway that sends them (one place for each fact).
 * Type-only re-exports: nothing from the gateway reaches the page bundle.
 */
export type { JobStatus, PublicImage as JobImage, PublicJob as Job } from '../../lambda/src/jobs/job';
export type { PublicStatus as BackendStatus } from '../../lambda/src/status/public-status';
export type { GatewayErrorBody as ApiErrorBody } from '../../lambda/src/http/responses';
