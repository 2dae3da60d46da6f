/** The preflight's lines: status, check, finding, and the fix on the same line. */
import type { CheckResult } from './check';

const LABEL = { pass: 'PASS', warn: 'WARN', fail: 'FAIL' } as const;
const NAME_WIDTH = 14;

export function formatResult(result: CheckResult): string {
  const fix = result.fix && result.status !== 'pass' ? ` — fix: ${result.fix}` : '';
  return `${LABEL[result.status]}  ${result.name.padEnd(NAME_WIDTH)}${result.message}${fix}`;
}

export function formatSummary(results: readonly CheckResult[]): string {
  const count = (status: CheckResult['status']) => results.filter((result) => result.status === status).length;
  const failed = count('fail');
  return `${failed} failed, ${count('warn')} warnings, ${count('pass')} passed: ${failed > 0 ? 'fix the failures before cdk deploy' : 'ready for npx cdk deploy --all'}`;
}
