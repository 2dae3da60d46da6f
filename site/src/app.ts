import type { GenerationRequest } from '../../contract/generation-request';
import type { ApiClient } from './api-client';
import { ApiError, CLIENT_ERROR_CODES } from './api-error';
import type { Job, JobStatus } from '../../contract/job';
import type { ApiStatus } from '../../contract/status';
import { isWithheld } from '../../contract/safety';
import { pollDelayMs } from './backoff';
import { byId } from './dom';
import { FormView } from './form-view';
import type { HistoryEntry, HistoryStore } from './history-store';
import { HistoryView } from './history-view';
import { loadImage, makeThumbnail } from './images';
import { InitImageView } from './init-image-view';
import { ProgressView } from './progress-view';
import { ResultsView, type ShownImage } from './results-view';
import { buildRequest, defaultValuesFor, mergeParameters, randomSeed, valuesFromRequest } from './settings';
import { StatusView } from './status-view';
import {
  describeBackendNote,
  describeError,
  describeEstimatedProgress,
  describeJobEnd,
  describeProgress,
  describeStepProgress,
  describeWaitClock,
  describeWithheldOutcome,
  formatElapsed,
  progressMilestone,
  type Notice,
} from './wording';

/** While queued, how often to re-read the backend's state for the estimate. */
const BACKEND_REFRESH_MS = 10_000;
/** Consecutive transient polling failures tolerated before giving up on following a job. */
const MAX_POLL_FAILURES = 5;
/** A pending entry older than this is not resumed on load: its result would have expired. */
const RESUME_WINDOW_MS = 60 * 60 * 1000;

/** An estimate never claims more than this: the last stretch is exactly what it cannot know. */
const MAX_ESTIMATED_FRACTION = 0.95;

const sleep = (ms: number, wake?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    wake?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

interface Backend {
  readonly status: ApiStatus;
  /** When the estimate was read, to count it down. */
  readonly at: number;
}

/** Wires the page: form → request → job → results and history, with honest status throughout. */
export class App {
  private readonly status = new StatusView();
  private readonly progress = new ProgressView();
  private readonly cancelButton = byId<HTMLButtonElement>('cancel-job');
  private readonly initImage = new InitImageView((text) => this.status.announce(text));
  /** The job being followed, and how to stop following it once it is canceled. */
  private following?: { readonly id: string; readonly request: GenerationRequest; readonly stop: AbortController; readonly since: number };
  /** The quarter of progress last announced, so milestones are said once each. */
  private announcedQuarter = -1;
  private readonly form: FormView;
  private readonly results: ResultsView;
  private readonly historyView: HistoryView;
  private backend?: Backend;
  /** This visit's warm-up started the generator loading (or found it loading). */
  private warmingUp = false;
  private phase?: JobStatus | 'sending';
  private busy = false;
  /** The request behind the results on screen, for "use these settings". */
  private shownRequest?: GenerationRequest;

  constructor(
    private readonly api: ApiClient,
    private readonly history: HistoryStore,
  ) {
    this.form = new FormView({
      onSubmit: () => void this.generate(),
      onRandomSeed: () => this.form.setSeed(randomSeed()),
      onReset: () => this.form.write(defaultValuesFor(this.backend?.status.model), { keepPrompt: true }),
    });
    this.results = new ResultsView({
      onUseSettings: (seed) => this.shownRequest && this.useSettings(this.shownRequest, seed),
      onCopySeed: (seed) =>
        navigator.clipboard?.writeText(String(seed)).then(
          () => true,
          () => false,
        ) ?? Promise.resolve(false),
    });
    this.historyView = new HistoryView({
      onShow: (entry) => void this.showFromHistory(entry),
      onUseSettings: (entry) => this.useSettings(entry.request),
      onClear: () => this.clearHistory(),
    });
    this.cancelButton.addEventListener('click', () => void this.cancel());
  }

  start(): void {
    this.renderHistory();
    // Once per visit, while the visitor types: the gateway may start loading the generator.
    void this.api.warmUp().then(
      (answer) => {
        this.warmingUp = answer.warming;
        this.showBackendNote();
      },
      () => undefined, // Advice only: a refused or failed warm-up changes nothing for the visitor.
    );
    void this.refreshBackend().then(() => {
      this.showBackendNote();
      const model = this.backend?.status.model;
      if (model !== undefined) {
        this.form.applyModel(model, defaultValuesFor(model));
        this.initImage.setAvailable(model.accepts_init_image);
      }
    });
    // A reload mid-generation picks the job up again rather than losing it.
    const pending = this.history.list().find((e) => e.status === 'pending' && Date.now() - Date.parse(e.createdAt) < RESUME_WINDOW_MS);
    if (pending !== undefined) void this.track(() => this.follow(pending.id, pending.request), Date.parse(pending.createdAt));
  }

  private async generate(): Promise<void> {
    this.status.showNotice(undefined);
    this.form.clearErrors();
    const built = buildRequest(this.form.read());
    if (!built.ok) {
      this.fail(built.error);
      return;
    }
    const picture = this.initImage.value();
    const request = picture ? { ...built.request, ...picture } : built.request;
    // The history keeps a small copy of the starting picture, never the upload itself.
    const { init_image: _upload, ...remembered } = request;
    const initThumbnail = picture ? await dataUrlThumbnail(picture.init_image) : undefined;
    await this.track(async () => {
      this.setPhase('sending', request);
      void this.refreshBackend();
      const job = await this.api.createImage(request);
      this.setPhase(job.status, request);
      this.history.save({ id: job.id, createdAt: job.created_at, request: remembered, status: 'pending', ...(initThumbnail ? { initThumbnail } : {}) });
      this.renderHistory();
      await this.follow(job.id, request);
    }, Date.now());
  }

  /** Runs one generation's life: busy state, the ticking clock, and errors turned into words. */
  private async track(work: () => Promise<void>, since: number): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    this.form.setBusy(true);
    this.status.setBackendNote('');
    const tick = () => this.status.setClock(this.clockText(since));
    tick();
    const clock = setInterval(tick, 1000);
    try {
      await work();
      this.status.setClock(this.phase === 'succeeded' ? `Finished in ${formatElapsed((Date.now() - since) / 1000)}` : '');
    } catch (error) {
      this.status.setClock('');
      this.fail(error instanceof ApiError ? describeError(error) : { title: 'Something went wrong in this page.', detail: String(error) });
    } finally {
      clearInterval(clock);
      this.busy = false;
      this.form.setBusy(false);
    }
  }

  private async follow(id: string, request: GenerationRequest): Promise<void> {
    const stop = new AbortController();
    this.following = { id, request, stop, since: Date.now() };
    this.announcedQuarter = -1;
    this.cancelButton.hidden = false;
    this.cancelButton.disabled = false;
    try {
      await this.poll(id, request, stop.signal);
    } finally {
      this.following = undefined;
      this.cancelButton.hidden = true;
      this.progress.hide();
    }
  }

  private async poll(id: string, request: GenerationRequest, stopped: AbortSignal): Promise<void> {
    let attempt = 0;
    let failures = 0;
    let backendCheckedAt = Date.now();
    for (;;) {
      if (stopped.aborted) return;
      let job: Job;
      try {
        job = await this.api.getImage(id);
        failures = 0;
      } catch (error) {
        if (error instanceof ApiError && error.code === 'not_found') this.markFailed(id);
        if (!isTransient(error) || ++failures > MAX_POLL_FAILURES) throw error;
        const retryAfter = (error as ApiError).retryAfterSeconds;
        await sleep(retryAfter !== undefined ? Math.min(retryAfter * 1000, 30_000) : pollDelayMs(attempt++), stopped);
        continue;
      }
      if (stopped.aborted) return;
      if (job.status !== this.phase) attempt = 0;
      if (job.status === 'queued' && Date.now() - backendCheckedAt >= BACKEND_REFRESH_MS) {
        backendCheckedAt = Date.now();
        await this.refreshBackend();
      }
      // "Done" is announced by showResult, once the images are on screen.
      if (job.status === 'succeeded') return this.showResult(job, request);
      this.setPhase(job.status, request);
      if (job.status === 'failed' || job.status === 'expired' || job.status === 'canceled') {
        this.endWithoutImages(job);
        return;
      }
      this.showProgress(job);
      // With a real step count the bar is worth a brisk poll; a cold start takes minutes: poll it gently.
      const maxMs = job.progress ? 2000 : this.backend?.status.state === 'warm' ? 5000 : 10_000;
      await sleep(pollDelayMs(attempt++, { maxMs }), stopped);
    }
  }

  /** Asks the API to cancel the job being followed; the job's own answer says how it ended. */
  private async cancel(): Promise<void> {
    const following = this.following;
    if (following === undefined) return;
    this.cancelButton.disabled = true;
    try {
      const job = await this.api.cancelImage(following.id);
      following.stop.abort();
      this.cancelButton.hidden = true;
      this.setPhase(job.status, following.request);
      this.endWithoutImages(job);
    } catch (error) {
      // 409: it finished first; the poll picks up the result.
      if (!(error instanceof ApiError && error.code === 'job_finished')) {
        this.cancelButton.disabled = false;
        this.status.showNotice(error instanceof ApiError ? describeError(error) : { title: 'The job could not be canceled.' });
      }
    }
  }

  private endWithoutImages(job: Job): void {
    this.progress.hide();
    if (job.status === 'canceled') this.markEnded(job.id, 'canceled');
    else this.markFailed(job.id);
    this.status.showNotice(describeJobEnd(job));
  }

  /** The API's step count where it reports one, else a guess from elapsed and expected time, said to be one. */
  private showProgress(job: Job): void {
    let fraction: number;
    if (job.progress) {
      fraction = job.progress.fraction;
      this.progress.show({ fraction, estimated: false, text: describeStepProgress(job.progress.step, job.progress.steps) });
      if (job.progress.preview) this.progress.showPreview(job.progress.preview, job.progress.step, job.progress.steps);
    } else {
      const expected = this.backend?.status.estimated_wait_seconds;
      if (this.following === undefined || expected === undefined || expected <= 0) return this.progress.hide();
      fraction = Math.min(MAX_ESTIMATED_FRACTION, (Date.now() - this.following.since) / 1000 / expected);
      this.progress.show({ fraction, estimated: true, text: describeEstimatedProgress(fraction) });
    }
    const milestone = progressMilestone(fraction, this.announcedQuarter);
    this.announcedQuarter = milestone.quarter;
    if (milestone.text !== undefined) this.status.announce(milestone.text);
  }

  private async showResult(job: Job, request: GenerationRequest): Promise<void> {
    const images = job.images ?? [];
    const shown: ShownImage[] = await Promise.all(
      images.map(async (image) => (isWithheld(image) ? { image } : { image, loaded: await loadImage(this.api.resolveUrl(image.url)) })),
    );
    const withheld = images.filter(isWithheld).length;
    const resolved = mergeParameters(request, job.parameters);
    this.shownRequest = resolved;
    this.results.show(resolved.prompt, shown);
    // The history learns of the success before "Done" is said, so a reload then finds nothing pending.
    const previous = this.history.get(job.id);
    const { init_image: _upload, ...remembered } = resolved;
    const entry: HistoryEntry = {
      id: job.id,
      createdAt: previous?.createdAt ?? job.created_at,
      request: remembered,
      ...(previous?.initThumbnail ? { initThumbnail: previous.initThumbnail } : {}),
      status: 'succeeded',
      seeds: images.map((image) => image.seed),
      ...(withheld > 0 ? { withheld } : {}),
      ...(previous?.thumbnails ? { thumbnails: previous.thumbnails } : {}),
    };
    this.history.save(entry);
    this.renderHistory();
    this.setPhase('succeeded', { ...resolved, num_images: images.length });
    if (withheld > 0) this.status.announce(describeWithheldOutcome(images.length, withheld));
    const returned = shown.filter((shownImage) => shownImage.loaded !== undefined);
    const thumbnails = await Promise.all(returned.map(({ loaded }) => (loaded?.blob ? makeThumbnail(loaded.blob) : undefined)));
    if (!thumbnails.some((t) => t === undefined) || previous?.thumbnails === undefined) {
      this.history.save({ ...entry, thumbnails: thumbnails.filter((t): t is string => t !== undefined) });
      this.renderHistory();
    }
  }

  private async showFromHistory(entry: HistoryEntry): Promise<void> {
    this.status.showNotice(undefined);
    try {
      const job = await this.api.getImage(entry.id);
      if (job.status === 'succeeded') {
        await this.showResult(job, entry.request);
        byId('results-heading').focus();
      } else if (job.status === 'queued' || job.status === 'running') {
        await this.track(() => this.follow(entry.id, entry.request), Date.parse(entry.createdAt));
      } else {
        this.markFailed(entry.id);
        this.status.showNotice(describeJobEnd(job));
      }
    } catch (error) {
      this.status.showNotice(error instanceof ApiError ? describeError(error) : { title: 'Something went wrong in this page.' });
    }
  }

  private useSettings(request: GenerationRequest, seed?: number): void {
    this.form.write(valuesFromRequest(request, seed));
    this.form.openAdvanced();
    this.status.announce('Settings copied into the form.');
    this.form.focusPrompt();
  }

  private clearHistory(): void {
    this.history.clear();
    this.renderHistory();
    this.status.announce('History cleared.');
    byId('history-heading').focus();
  }

  private fail(notice: Notice): void {
    this.status.announce('');
    this.status.showNotice(notice);
    if (notice.field === 'init_image' || notice.field === 'strength') {
      if (notice.detail !== undefined) this.initImage.showError(notice.detail);
    } else if (notice.field !== undefined && notice.detail !== undefined) this.form.showError(notice.field, notice.detail);
  }

  private markFailed(id: string): void {
    this.markEnded(id, 'failed');
  }

  private markEnded(id: string, status: 'failed' | 'canceled'): void {
    const entry = this.history.get(id);
    if (entry !== undefined && entry.status === 'pending') {
      this.history.save({ ...entry, status });
      this.renderHistory();
    }
  }

  private setPhase(phase: JobStatus | 'sending', request: GenerationRequest): void {
    const changed = phase !== this.phase;
    this.phase = phase;
    // Within a phase, once the bar's milestones speak, repeating the phase would interrupt them.
    if (!changed && this.announcedQuarter >= 0) return;
    this.status.announce(describeProgress(phase, this.backend?.status, request.num_images ?? 1));
  }

  private clockText(since: number): string {
    const elapsed = (Date.now() - since) / 1000;
    const waitingOnStart = (this.phase === 'queued' || this.phase === 'sending') && this.backend !== undefined;
    return waitingOnStart
      ? describeWaitClock(elapsed, this.backend!.status, (Date.now() - this.backend!.at) / 1000)
      : describeWaitClock(elapsed, undefined, 0);
  }

  /** The gateway words its own state for visitors; the page adds only what is about the request. */
  private showBackendNote(): void {
    const note = describeBackendNote(this.backend?.status, this.warmingUp);
    if (note !== undefined && !this.busy) this.status.setBackendNote(note);
  }

  private async refreshBackend(): Promise<void> {
    try {
      this.backend = { status: await this.api.getStatus(), at: Date.now() };
    } catch {
      // The status is advice; without it the page still works, it just cannot estimate.
    }
  }

  private renderHistory(): void {
    this.historyView.render(this.history.list());
  }
}

/** Decoded by hand: the page's CSP lets it show data: URLs but not fetch them. */
async function dataUrlThumbnail(dataUrl: string): Promise<string | undefined> {
  const match = /^data:([^;,]+);base64,(.*)$/.exec(dataUrl);
  if (!match) return undefined;
  const bytes = Uint8Array.from(atob(match[2]), (c) => c.charCodeAt(0));
  return makeThumbnail(new Blob([bytes], { type: match[1] }), 96);
}

function isTransient(error: unknown): boolean {
  if (!(error instanceof ApiError)) return false;
  return error.code === CLIENT_ERROR_CODES.network || error.code === CLIENT_ERROR_CODES.badAnswer || error.status === 429 || error.status >= 500;
}
