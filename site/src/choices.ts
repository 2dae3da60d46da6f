import type { SchedulerName } from '../../contract/limits';

/** What the page offers in its menus; the API accepts more than these presets. */

/** Human labels for the front's scheduler menu. */
export const SCHEDULER_LABELS: Readonly<Record<SchedulerName, string>> = {
  pndm: 'PNDM (SD 1.4 default)',
  ddim: 'DDIM',
  euler: 'Euler',
  euler_ancestral: 'Euler ancestral',
  dpmpp_2m: 'DPM++ 2M',
  dpmpp_2m_karras: 'DPM++ 2M Karras',
  lms: 'LMS',
  lcm: 'LCM (few steps, for LCM models)',
};

/** Sizes the front offers; all satisfy the contract's LIMITS. */
export const SIZE_PRESETS: ReadonlyArray<{ readonly width: number; readonly height: number; readonly label: string }> = [
  { width: 512, height: 512, label: 'Square 512×512' },
  { width: 512, height: 768, label: 'Portrait 512×768' },
  { width: 768, height: 512, label: 'Landscape 768×512' },
  { width: 768, height: 768, label: 'Large square 768×768' },
];
