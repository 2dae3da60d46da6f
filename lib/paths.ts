import * as path from 'node:path';

/** The repository root; cdk.json lives here and relative paths in the configuration start here. */
export const REPO_ROOT = path.resolve(__dirname, '..');

/** Folders and entry points other tiers own; the stacks only point at them. */
export const PATHS = {
  /** The engine image: built from the repository root, `file` relative to it. */
  engineImage: { context: REPO_ROOT, dockerfile: path.join('container', 'Dockerfile'), sagemakerTarget: 'sagemaker', lambdaTarget: 'lambda' },
  site: path.join(REPO_ROOT, 'site'),
  siteBuildScript: path.join(REPO_ROOT, 'site', 'build.ts'),
  gatewayHandler: path.join(REPO_ROOT, 'lambda', 'src', 'handler.ts'),
  instanceCountHandler: path.join(REPO_ROOT, 'lambda', 'instance-count', 'handler.ts'),
  engineFailureHandler: path.join(REPO_ROOT, 'lambda', 'engine-failure', 'handler.ts'),
  budgetActionHandler: path.join(REPO_ROOT, 'lambda', 'budget-action', 'handler.ts'),
  lockFile: path.join(REPO_ROOT, 'package-lock.json'),
} as const;
