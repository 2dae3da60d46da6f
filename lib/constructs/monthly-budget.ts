import * as budgets from 'aws-cdk-lib/aws-budgets';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export interface MonthlyBudgetProps {
  /** Monthly cost limit in USD for the whole account. */
  readonly limitUsd: number;
  /** Who is e-mailed when actual cost passes 80 % or forecast cost passes 100 %. */
  readonly emails: readonly string[];
  /**
   * Told when actual cost passes 100 %, to act on it (BudgetAction).
   * @default - no action
   */
  readonly actionTopic?: sns.ITopic;
  /** @default 'serverless-diffusion' */
  readonly budgetName?: string;
}

/**
 * An AWS Budget on the account's monthly cost. It covers the whole account: a filter on this
 * kit's tag would need cost allocation tags activated by hand in the billing console first.
 */
export class MonthlyBudget extends Construct {
  public readonly budget: budgets.CfnBudget;

  constructor(scope: Construct, id: string, props: MonthlyBudgetProps) {
    super(scope, id);
    if (!(props.limitUsd > 0)) throw new Error(`limitUsd must be positive but is ${props.limitUsd}`);
    const subscribers = props.emails.map((address) => ({ subscriptionType: 'EMAIL', address }));
    const notify = (notificationType: 'ACTUAL' | 'FORECASTED', threshold: number, to = subscribers) => ({
      notification: { notificationType, comparisonOperator: 'GREATER_THAN', threshold, thresholdType: 'PERCENTAGE' },
      subscribers: to,
    });
    const notifications = [
      ...(subscribers.length > 0 ? [notify('ACTUAL', 80), notify('FORECASTED', 100)] : []),
      ...(props.actionTopic ? [notify('ACTUAL', 100, [...subscribers, { subscriptionType: 'SNS', address: props.actionTopic.topicArn }])] : []),
    ];
    this.budget = new budgets.CfnBudget(this, 'Budget', {
      budget: {
        budgetName: props.budgetName ?? 'serverless-diffusion',
        budgetType: 'COST',
        timeUnit: 'MONTHLY',
        budgetLimit: { amount: props.limitUsd, unit: 'USD' },
      },
      notificationsWithSubscribers: notifications.length > 0 ? notifications : undefined,
    });
  }
}
