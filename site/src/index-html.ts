import { DEFAULTS, LIMITS, OUTPUT_FORMATS, SCHEDULER_NAMES } from '../../contract/limits';
import { SCHEDULER_LABELS, SIZE_PRESETS } from './choices';
import { CUSTOM_SIZE, DEFAULT_VALUES, sizeKey } from './settings';

/**
 * The page's markup, rendered at build time so it is complete at first paint and its form limits
 * come from the shared definition. Runs in Node only; the browser bundle never imports it.
 */
export interface PageAssets {
  readonly scriptHref: string;
  readonly styleHref: string;
  readonly iconHref: string;
}

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const option = (value: string, label: string, selected: boolean) =>
  `<option value="${escapeHtml(value)}"${selected ? ' selected' : ''}>${escapeHtml(label)}</option>`;

/** A labelled control with its hint and its (initially empty) error line, wired by aria-describedby. */
function field(id: string, label: string, control: string, hint?: string): string {
  const hintHtml = hint !== undefined ? `<p class="hint" id="${id}-hint">${escapeHtml(hint)}</p>` : '';
  const describedBy = [hint !== undefined ? `${id}-hint` : '', `${id}-error`].filter(Boolean).join(' ');
  return `<div class="field" id="${id}-field">
<label for="${id}">${escapeHtml(label)}</label>
${control.replace('%DESCRIBEDBY%', describedBy)}
${hintHtml}<p class="field-error" id="${id}-error" hidden></p>
</div>`;
}

const numberInput = (id: string, min: number, max: number, step: number | 'any', value: string, extra = '') =>
  `<input type="number" id="${id}" name="${id}" min="${min}" max="${max}" step="${step}" value="${escapeHtml(value)}" inputmode="${step === 1 ? 'numeric' : 'decimal'}" aria-describedby="%DESCRIBEDBY%"${extra}>`;

const DIE_ICON =
  '<svg aria-hidden="true" focusable="false" viewBox="0 0 24 24" width="20" height="20"><rect x="3" y="3" width="18" height="18" rx="4" fill="none" stroke="currentColor" stroke-width="2"/><circle cx="8" cy="8" r="1.6" fill="currentColor"/><circle cx="16" cy="16" r="1.6" fill="currentColor"/><circle cx="12" cy="12" r="1.6" fill="currentColor"/><circle cx="16" cy="8" r="1.6" fill="currentColor"/><circle cx="8" cy="16" r="1.6" fill="currentColor"/></svg>';

export function renderIndexHtml(assets: PageAssets): string {
  const sizeOptions = [
    option('', "Model's native size", true),
    ...SIZE_PRESETS.map((p) => option(sizeKey(p.width, p.height), p.label, false)),
    option(CUSTOM_SIZE, 'Custom…', false),
  ].join('');
  const schedulerOptions = [
    option('', "Model's default", true),
    ...SCHEDULER_NAMES.map((name) => option(name, SCHEDULER_LABELS[name], false)),
  ].join('');
  const countOptions = Array.from({ length: LIMITS.numImagesMax - LIMITS.numImagesMin + 1 }, (_, i) => LIMITS.numImagesMin + i)
    .map((n) => option(String(n), String(n), String(n) === DEFAULT_VALUES.num_images))
    .join('');
  const formatOptions = OUTPUT_FORMATS.map((f) => option(f, f.toUpperCase(), f === DEFAULTS.outputFormat)).join('');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Serverless Diffusion: make an image from words</title>
<meta name="description" content="Describe a picture in words and Stable Diffusion paints it.">
<link rel="icon" href="${assets.iconHref}" type="image/svg+xml">
<link rel="stylesheet" href="${assets.styleHref}">
<script type="module" src="${assets.scriptHref}"></script>
</head>
<body>
<header class="page-header">
<h1>Serverless Diffusion</h1>
<p>Describe a picture in words and Stable Diffusion paints it.</p>
</header>
<main>
<form id="generate-form" novalidate>
${field(
  'prompt',
  'Describe the image',
  `<textarea id="prompt" name="prompt" rows="3" maxlength="${LIMITS.promptMaxLength}" required aria-describedby="%DESCRIBEDBY%" placeholder="A lighthouse on a cliff at dawn, oil painting"></textarea>`,
  'Press Enter to generate, Shift+Enter for a new line.',
)}
<div class="actions">
<button type="submit" id="generate" class="primary">Generate</button>
<p id="backend-note" class="hint"></p>
</div>
<details id="advanced">
<summary>Advanced settings</summary>
<div class="settings-grid">
${field(
  'negative_prompt',
  'Negative prompt',
  `<textarea id="negative_prompt" name="negative_prompt" rows="2" maxlength="${LIMITS.negativePromptMaxLength}" aria-describedby="%DESCRIBEDBY%"></textarea>`,
  'What the image should not show.',
)}
${field('steps', 'Steps', numberInput('steps', LIMITS.stepsMin, LIMITS.stepsMax, 1, DEFAULT_VALUES.steps), `More steps: more detail, more time (${LIMITS.stepsMin}–${LIMITS.stepsMax}).`)}
${field(
  'guidance_scale',
  'Guidance',
  numberInput('guidance_scale', LIMITS.guidanceScaleMin, LIMITS.guidanceScaleMax, 'any', DEFAULT_VALUES.guidance_scale),
  `How closely to follow the prompt (${LIMITS.guidanceScaleMin}–${LIMITS.guidanceScaleMax}).`,
)}
${field('size', 'Size', `<select id="size" name="size" aria-describedby="%DESCRIBEDBY%">${sizeOptions}</select>`, `SD 1.x models are made for ${DEFAULTS.width}×${DEFAULTS.height}.`)}
<fieldset id="custom-size" class="custom-size" hidden>
<legend>Custom size in pixels</legend>
${field('width', 'Width', numberInput('width', LIMITS.sizeMin, LIMITS.sizeMax, LIMITS.sizeMultiple, DEFAULT_VALUES.width))}
${field('height', 'Height', numberInput('height', LIMITS.sizeMin, LIMITS.sizeMax, LIMITS.sizeMultiple, DEFAULT_VALUES.height))}
<p class="hint">Multiples of ${LIMITS.sizeMultiple}, at most ${LIMITS.maxPixels.toLocaleString('en')} pixels in all.</p>
</fieldset>
${field(
  'seed',
  'Seed',
  `<div class="with-button">${numberInput('seed', LIMITS.seedMin, LIMITS.seedMax, 1, '', ' placeholder="Random"')}<button type="button" id="seed-dice" class="icon-button" title="Pick a random seed">${DIE_ICON}<span class="visually-hidden">Pick a random seed</span></button></div>`,
  'Same seed and settings give the same image. Leave empty for a new one each time.',
)}
${field('scheduler', 'Scheduler', `<select id="scheduler" name="scheduler" aria-describedby="%DESCRIBEDBY%">${schedulerOptions}</select>`)}
${field('num_images', 'Number of images', `<select id="num_images" name="num_images" aria-describedby="%DESCRIBEDBY%">${countOptions}</select>`)}
${field('output_format', 'File format', `<select id="output_format" name="output_format" aria-describedby="%DESCRIBEDBY%">${formatOptions}</select>`)}
</div>
<button type="button" id="reset-settings" class="secondary">Reset settings</button>
</details>
<details id="init-image-section">
<summary>Start from an image</summary>
<div id="init-image-drop" class="drop-zone">
${field(
  'init_image',
  'Picture to start from',
  '<input type="file" id="init_image" name="init_image" accept="image/png,image/jpeg,image/webp" aria-describedby="%DESCRIBEDBY%">',
  'PNG, JPEG or WebP; choose a file or drop it here. Its composition is kept, your prompt repaints it.',
)}
<div id="init-image-chosen" class="init-image-chosen" hidden>
<img id="init-image-preview" class="init-image-preview" alt="">
<button type="button" id="init-image-remove" class="secondary">Remove picture</button>
</div>
<div class="field">
<label for="strength">Strength <output id="strength-value" for="strength"></output></label>
<input type="range" id="strength" name="strength" min="0.05" max="${LIMITS.strengthMax}" step="0.05" value="${DEFAULTS.strength}" aria-describedby="strength-hint">
<p class="hint" id="strength-hint">Low keeps the picture, 1 repaints nearly all of it.</p>
</div>
</div>
</details>
</form>
<p id="decoder-note" class="hint" hidden></p>
<section id="progress" aria-label="Progress">
<p id="status" role="status"></p>
<div id="progress-meter" class="progress-meter" hidden>
<div id="progress-bar" class="progress-bar" role="progressbar" aria-labelledby="progress-label" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0"><div id="progress-fill" class="progress-fill"></div></div>
<p id="progress-label" class="hint"></p>
</div>
<img id="progress-preview" class="progress-preview" alt="" hidden>
<p id="clock" class="hint"></p>
<button type="button" id="cancel-job" class="secondary" hidden>Cancel</button>
<div id="notice" role="alert"></div>
</section>
<section id="results" aria-labelledby="results-heading" hidden>
<h2 id="results-heading" tabindex="-1">Your images</h2>
<div id="result-list" class="result-list"></div>
</section>
<section id="history" aria-labelledby="history-heading">
<div class="history-header">
<h2 id="history-heading">History</h2>
<button type="button" id="clear-history" class="secondary">Clear history</button>
</div>
<p class="hint">Your past images, kept only in this browser. Full-size images stay available on the server for a limited time.</p>
<p id="history-empty">Nothing yet: your images will appear here.</p>
<ol id="history-list" class="history-list"></ol>
</section>
</main>
<footer class="page-footer">
<p>Prompts are sent to this site's server to make the images; nothing else about you is kept there.</p>
</footer>
</body>
</html>
`;
}
