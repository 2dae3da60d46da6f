import { byId } from './dom';

/** What the bar shows: the API's own step count, or a guess from elapsed and expected time. */
export interface ProgressReading {
  /** 0..1 */
  readonly fraction: number;
  /** True when the figure is a guess, not reported by the backend. */
  readonly estimated: boolean;
  /** The visible label, also the bar's accessible value text. */
  readonly text: string;
}

/**
 * The progress bar. Assistive technology reads its value when it is focused or browsed to; the
 * page announces milestones through the status region instead of every change (see wording).
 */
export class ProgressView {
  private readonly meter = byId('progress-meter');
  private readonly bar = byId('progress-bar');
  private readonly fill = byId('progress-fill');
  private readonly label = byId('progress-label');

  show(reading: ProgressReading): void {
    const percent = Math.round(Math.min(1, Math.max(0, reading.fraction)) * 100);
    this.meter.hidden = false;
    this.bar.classList.toggle('estimate', reading.estimated);
    this.bar.setAttribute('aria-valuenow', String(percent));
    this.bar.setAttribute('aria-valuetext', reading.text);
    this.fill.style.width = `${percent}%`;
    this.label.textContent = reading.text;
  }

  hide(): void {
    this.meter.hidden = true;
  }
}
