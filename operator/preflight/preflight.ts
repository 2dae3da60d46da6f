/**
 * `npm run preflight`: the read-only checks that catch a deploy that would not work, before
 * `cdk deploy` spends twenty minutes finding out.
 */
import { runCheck, type CheckResult, type PreflightContext } from './check';
import { checkCredentials } from './checks/credentials';
import { checksFor } from './plan';

export async function runPreflight(context: PreflightContext): Promise<CheckResult[]> {
  let account: string | undefined;
  const credentials = await runCheck(
    {
      name: 'credentials',
      usesAws: true,
      async run(ctx) {
        const identity = await checkCredentials(ctx);
        account = identity.account;
        return identity.outcome;
      },
    },
    context,
  );
  const results: CheckResult[] = [credentials];
  const withAccount: PreflightContext = { ...context, account };
  for (const check of checksFor(context.config)) {
    if (check.usesAws && account === undefined) {
      results.push({ name: check.name, status: 'warn', message: 'not checked: it needs working AWS credentials', fix: 'fix the credentials, then run the preflight again' });
    } else {
      results.push(await runCheck(check, withAccount));
    }
  }
  return results;
}

/** Non-zero when anything failed; warnings alone do not stop a deploy. */
export function exitCodeOf(results: readonly CheckResult[]): number {
  return results.some((result) => result.status === 'fail') ? 1 : 0;
}
