/**
 * Progress of a many-file transfer on stderr: a redrawn bar with bytes, rate and time left on a
 * terminal; in logs and pipes, plain lines at every tenth of the total and per file.
 */

/** What a transfer reports; a test or a quiet caller can pass its own. */
export interface ProgressSink {
  /** Bytes already in place before this run moved any (unchanged files, partial downloads). */
  alreadyHave(bytes: number): void;
  /** Bytes this run moved. */
  transferred(bytes: number): void;
  /** Bytes counted before that have to be moved again (a server that ignored a Range request). */
  discarded(bytes: number): void;
  /** One line, e.g. a file finished or retried. */
  note(message: string): void;
  /** The current file, shown next to the bar. */
  current(label: string): void;
  /** Ends the bar with a last line. */
  done(message: string): void;
}

export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
}

export interface TransferProgressOptions {
  /** Milliseconds, monotonic. @default performance.now */
  readonly now?: () => number;
  /** Shortest time between two redraws of the bar. @default 100 */
  readonly redrawMs?: number;
}

const BAR_WIDTH = 24;
const PLAIN_STEPS = 10;

export class TransferProgress implements ProgressSink {
  private readonly now: () => number;
  private readonly redrawMs: number;
  private readonly started: number;
  private have = 0;
  private moved = 0;
  private label = '';
  private lastDraw = -Infinity;
  private plainStep = 0;

  constructor(
    private readonly stream: ProgressStream,
    private readonly totalBytes: number,
    options: TransferProgressOptions = {},
  ) {
    this.now = options.now ?? (() => performance.now());
    this.redrawMs = options.redrawMs ?? 100;
    this.started = this.now();
  }

  alreadyHave(bytes: number): void {
    this.have += bytes;
    this.show(false);
  }

  transferred(bytes: number): void {
    this.have += bytes;
    this.moved += bytes;
    this.show(false);
  }

  discarded(bytes: number): void {
    this.have -= bytes;
  }

  current(label: string): void {
    this.label = label;
    this.show(true);
  }

  note(message: string): void {
    if (this.stream.isTTY) this.stream.write(`\r\x1b[K${message}\n`);
    else this.stream.write(`${message}\n`);
    this.show(true);
  }

  done(message: string): void {
    this.stream.write(this.stream.isTTY ? `\r\x1b[K${message}\n` : `${message}\n`);
  }

  /** Bytes per second moved by this run so far; undefined before any time has passed. */
  rate(): number | undefined {
    const seconds = (this.now() - this.started) / 1000;
    return seconds > 0 && this.moved > 0 ? this.moved / seconds : undefined;
  }

  private show(force: boolean): void {
    if (this.stream.isTTY) {
      const now = this.now();
      if (!force && now - this.lastDraw < this.redrawMs) return;
      this.lastDraw = now;
      const fraction = this.totalBytes > 0 ? Math.min(1, this.have / this.totalBytes) : 1;
      const filled = Math.round(fraction * BAR_WIDTH);
      this.stream.write(`\r\x1b[K[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${this.figures()}  ${this.label}`);
      return;
    }
    const step = this.totalBytes > 0 ? Math.floor((this.have / this.totalBytes) * PLAIN_STEPS) : PLAIN_STEPS;
    if (step > this.plainStep && this.moved > 0) {
      this.plainStep = step;
      this.stream.write(`${this.figures()}\n`);
    }
  }

  private figures(): string {
    const percent = this.totalBytes > 0 ? Math.floor((Math.min(this.have, this.totalBytes) / this.totalBytes) * 100) : 100;
    const rate = this.rate();
    const left = rate ? formatDuration(Math.max(0, this.totalBytes - this.have) / rate) : '--:--';
    return `${percent}% ${formatBytes(this.have)} of ${formatBytes(this.totalBytes)}, ${rate ? `${formatBytes(rate)}/s` : '-- B/s'}, ETA ${left}`;
  }
}

/** A sink that shows nothing. */
export const SILENT_PROGRESS: ProgressSink = {
  alreadyHave: () => undefined,
  transferred: () => undefined,
  discarded: () => undefined,
  note: () => undefined,
  current: () => undefined,
  done: () => undefined,
};

/** Decimal units, as the Hub and S3 consoles show sizes. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return unit === 0 ? `${Math.round(value)} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** 83 → "1:23", 3723 → "1:02:03". */
export function formatDuration(seconds: number): string {
  const total = Math.round(seconds);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mmss = `${h > 0 ? String(m).padStart(2, '0') : m}:${String(s).padStart(2, '0')}`;
  return h > 0 ? `${h}:${mmss}` : mmss;
}
