import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { CONFIG_CONTEXT_KEY, parseDeploymentConfig, type DeploymentConfig } from '../../../lib/config/deployment-config';
import { REPO_ROOT } from '../../../lib/paths';
import { addServerlessDiffusionStacks } from '../../../lib/serverless-diffusion';

/** The context of cdk.json: feature flags and the default configuration. */
export function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')).context;
}

export type StackKind = 'front' | 'gateway' | 'backend' | 'site' | 'operations';

export interface Synthesized {
  readonly config: DeploymentConfig;
  readonly outdir: string;
  /** Templates by stack; `backend` is absent in the external mode. */
  readonly templates: Partial<Record<StackKind, Template>>;
  /** Raw template JSON, for checks across all stacks. */
  readonly raw: Record<string, { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> }>;
  readonly app: App;
  cleanup(): void;
}

/**
 * Synthesizes the whole app the way bin/app.ts does (cdk.json context, cdk-nag AwsSolutions on the
 * app), with configuration overrides on top of cdk.json's. Synthesis throws when cdk-nag reports
 * any unacknowledged finding, so a test that gets here has none.
 */
export function synthesize(overrides: Record<string, unknown> = {}): Synthesized {
  const context = cdkJsonContext();
  const configInput = deepMerge(context[CONFIG_CONTEXT_KEY] as Record<string, unknown>, overrides);
  const outdir = mkdtempSync(path.join(tmpdir(), 'sd-infra-'));
  const app = new App({ outdir, context: { ...context, [CONFIG_CONTEXT_KEY]: configInput } });
  const config = parseDeploymentConfig(configInput);
  const stacks = addServerlessDiffusionStacks(app, config);
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  const assembly = app.synth();
  const templates: Partial<Record<StackKind, Template>> = {};
  const raw: Synthesized['raw'] = {};
  for (const [kind, stack] of Object.entries(stacks) as Array<[StackKind, { stackName: string } | undefined]>) {
    if (!stack) continue;
    const template = assembly.getStackByName(stack.stackName).template;
    templates[kind] = Template.fromJSON(template);
    raw[stack.stackName] = template;
  }
  return { config, outdir, templates, raw, app, cleanup: () => rmSync(outdir, { recursive: true, force: true }) };
}

export interface CfnLintFinding {
  readonly Level: string;
  readonly Message: string;
  readonly Rule: { readonly Id: string };
  readonly Filename: string;
  readonly Location: { readonly Start: { readonly LineNumber: number } };
}

/** cfn-lint on every template of a cloud assembly; returns its findings. */
export function cfnLint(outdir: string, templateNames: readonly string[]): CfnLintFinding[] {
  const files = templateNames.map((name) => path.join(outdir, `${name}.template.json`));
  const result = spawnSync('cfn-lint', ['--format', 'json', '--', ...files], { encoding: 'utf8' });
  if (result.error) throw result.error;
  // Exit codes: 0 clean, 2 errors, 4 warnings, 8 informational (bit flags); anything else is a crash.
  if ((result.status ?? 1) & ~(2 | 4 | 8)) throw new Error(`cfn-lint failed: ${result.stderr}`);
  return JSON.parse(result.stdout || '[]') as CfnLintFinding[];
}

/** Every acknowledgement recorded in the app: construct path, rule id and reason. */
export function acknowledgements(app: App): Array<{ path: string; id: string; reason: string }> {
  const found: Array<{ path: string; id: string; reason: string }> = [];
  for (const construct of app.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        found.push({ path: construct.node.path, id, reason });
      }
    }
  }
  return found;
}

function deepMerge(base: Record<string, unknown>, overrides: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const current = merged[key];
    merged[key] =
      isRecord(current) && isRecord(value) ? deepMerge(current, value) : value;
  }
  return merged;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
