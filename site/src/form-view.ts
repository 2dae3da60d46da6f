import type { ModelInfo } from '../../contract/model-info';
import { SCHEDULER_LABELS } from './choices';
import { CUSTOM_SIZE, DEFAULT_VALUES, type SettingsValues } from './settings';
import { byId } from './dom';

type Control = HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;

const FIELDS = Object.keys(DEFAULT_VALUES) as Array<keyof SettingsValues>;
const ADVANCED_FIELDS: ReadonlySet<string> = new Set(FIELDS.filter((f) => f !== 'prompt'));

/** The generation form: reads and writes its values, keyboard submit, and per-field errors. */
/** Said wherever the deployment decodes with the tiny VAE (`backend.decoder`), so nobody mistakes its softness for the model's. */
const DECODER_NOTE = 'Images here are decoded with a fast decoder (TAESD), which blurs fine detail.';

export class FormView {
  private readonly form = byId<HTMLFormElement>('generate-form');
  private readonly prompt = byId<HTMLTextAreaElement>('prompt');
  private readonly generate = byId<HTMLButtonElement>('generate');
  private readonly advanced = byId<HTMLDetailsElement>('advanced');
  private readonly customSize = byId<HTMLFieldSetElement>('custom-size');
  private readonly size = byId<HTMLSelectElement>('size');
  private busy = false;

  constructor(handlers: { readonly onSubmit: () => void; readonly onRandomSeed: () => void; readonly onReset: () => void }) {
    this.form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!this.busy) handlers.onSubmit();
    });
    this.prompt.addEventListener('keydown', (event) => {
      // Enter generates; Shift+Enter keeps the textarea's newline; an IME composing text owns Enter.
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.form.requestSubmit();
      }
    });
    this.size.addEventListener('change', () => this.syncCustomSize());
    byId('seed-dice').addEventListener('click', handlers.onRandomSeed);
    byId('reset-settings').addEventListener('click', handlers.onReset);
    for (const name of FIELDS) this.control(name).addEventListener('input', () => this.clearError(name));
  }

  read(): SettingsValues {
    const values = {} as Record<keyof SettingsValues, string>;
    for (const name of FIELDS) values[name] = this.control(name).value;
    return values;
  }

  /** Fills the form; the prompt only when given, so "reset settings" keeps what was typed. */
  write(values: SettingsValues, options: { readonly keepPrompt?: boolean } = {}): void {
    for (const name of FIELDS) {
      if (name === 'prompt' && options.keepPrompt === true) continue;
      this.control(name).value = values[name];
    }
    this.syncCustomSize();
    this.clearErrors();
  }

  setSeed(seed: number): void {
    this.control('seed').value = String(seed);
    this.clearError('seed');
  }

  setBusy(busy: boolean): void {
    this.busy = busy;
    this.generate.setAttribute('aria-disabled', String(busy));
    this.generate.textContent = busy ? 'Generating…' : 'Generate';
  }

  /**
   * Follows the deployed model: its defaults fill the fields the visitor has not changed, the hints
   * say what it wants, and what it cannot take is switched off with a reason.
   */
  applyModel(model: ModelInfo, defaults: SettingsValues): void {
    for (const name of ['steps', 'guidance_scale', 'width', 'height'] as const) {
      const control = this.control(name);
      if (control.value === DEFAULT_VALUES[name]) control.value = defaults[name];
    }
    byId('size-hint').textContent = `This model is made for ${model.width}×${model.height}.`;
    byId('steps-hint').textContent = `More steps: more detail, more time. This model's default is ${model.steps}.`;
    byId('guidance_scale-hint').textContent = `How closely to follow the prompt. This model's default is ${model.guidance_scale}.`;
    const modelDefault = this.control('scheduler').querySelector<HTMLOptionElement>('option[value=""]');
    if (modelDefault) modelDefault.textContent = `Model's default (${SCHEDULER_LABELS[model.scheduler]})`;
    const decoderNote = byId('decoder-note');
    decoderNote.hidden = model.decoder !== 'tiny';
    decoderNote.textContent = model.decoder === 'tiny' ? DECODER_NOTE : '';
    const negative = this.control('negative_prompt');
    negative.disabled = !model.accepts_negative_prompt;
    if (!model.accepts_negative_prompt) {
      negative.value = '';
      byId('negative_prompt-hint').textContent = 'This model takes no negative prompt: its guidance is built in.';
    }
  }

  focusPrompt(): void {
    this.prompt.focus();
  }

  openAdvanced(): void {
    this.advanced.open = true;
  }

  /** Marks the field, opens the section that hides it and moves focus there. */
  showError(field: string, message: string): void {
    const target = this.fieldFor(field);
    if (target === undefined) return;
    if (ADVANCED_FIELDS.has(target)) this.advanced.open = true;
    const control = this.control(target);
    control.setAttribute('aria-invalid', 'true');
    const line = byId(`${target}-error`);
    line.textContent = message;
    line.hidden = false;
    control.focus();
  }

  clearErrors(): void {
    for (const name of FIELDS) this.clearError(name);
  }

  private clearError(name: keyof SettingsValues): void {
    this.control(name).removeAttribute('aria-invalid');
    const line = byId(`${name}-error`);
    line.textContent = '';
    line.hidden = true;
  }

  /** Maps an API field to the control that sets it: width/height live in the size menu unless custom. */
  private fieldFor(field: string): keyof SettingsValues | undefined {
    if ((field === 'width' || field === 'height') && this.size.value !== CUSTOM_SIZE) return 'size';
    return FIELDS.find((name) => name === field);
  }

  private syncCustomSize(): void {
    this.customSize.hidden = this.size.value !== CUSTOM_SIZE;
  }

  private control(name: keyof SettingsValues): Control {
    return byId<Control>(name);
  }
}
