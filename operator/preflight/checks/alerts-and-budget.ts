/** Who hears of the budget and of a GPU that cannot start, and what the budget is. */
import { CONFIG_CONTEXT_KEY } from '../../../lib/config/deployment-config';
import type { Check } from '../check';

export const alertEmails: Check = {
  name: 'alerts',
  usesAws: false,
  async run({ config }) {
    const { emails } = config.alerts;
    if (emails.length === 0) {
      return {
        status: 'fail',
        message: 'alerts.emails is empty: nobody would hear of the budget or of alarms such as a GPU that never starts',
        fix: `set ${CONFIG_CONTEXT_KEY}.alerts.emails in cdk.json, then confirm the SNS and budget e-mails after the deploy`,
      };
    }
    return { status: 'pass', message: `alarms and the budget e-mail ${emails.join(', ')}` };
  },
};

export const monthlyBudget: Check = {
  name: 'budget',
  usesAws: false,
  async run({ config, raw }) {
    const limit = config.budget.monthlyLimitUsd;
    const chosen = (raw.budget as { monthlyLimitUsd?: unknown } | undefined)?.monthlyLimitUsd !== undefined;
    if (!chosen) {
      return {
        status: 'warn',
        message: `budget.monthlyLimitUsd is not set: the default, $${limit} a month for the whole account, applies`,
        fix: `set ${CONFIG_CONTEXT_KEY}.budget.monthlyLimitUsd to what you mean to spend (npm run cost estimates it)`,
      };
    }
    return { status: 'pass', message: `$${limit} a month for the whole account, e-mailed at 80 % actual and 100 % forecast` };
  },
};
