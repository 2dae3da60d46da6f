import { byId } from './dom';
import { describePreview } from './wording';

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
  private readonly preview = byId('progress-preview') as HTMLImageElement;

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
    this.hidePreview();
  }

  /** The engine's live preview (a small data URL), sharpening as the steps run; its alt text says how far it is. */
  showPreview(dataUrl: string, step: number, steps: number): void {
    if (this.preview.getAttribute('src') !== dataUrl) this.preview.setAttribute('src', dataUrl);
    this.preview.alt = describePreview(step, steps);
    this.preview.hidden = false;
  }

  hidePreview(): void {
    this.preview.hidden = true;
    this.preview.removeAttribute('src');
  }
}
