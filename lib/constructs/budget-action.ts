import { Arn, ArnFormat, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { PATHS } from '../paths';
import { NodeFunction } from './node-function';

export interface BudgetActionProps {
  /** The REST API whose stage is throttled to zero. */
  readonly restApiId: string;
  readonly stageName: string;
  /**
   * The engine function of lambda mode, whose concurrency is set to zero.
   * @default - none (SageMaker scales in once no request arrives; an external engine is not ours)
   */
  readonly engineFunctionName?: string;
  /** @default 'INFO' */
  readonly logLevel?: string;
}

/**
 * What protects the account once the monthly budget is spent: a topic that AWS Budgets publishes
 * to, and a function on it that stops new spending (`lambda/budget-action/handler.ts`). It acts
 * whether or not anyone reads the alert e-mails.
 */
export class BudgetAction extends Construct {
  public readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: BudgetActionProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.topic = new sns.Topic(this, 'Topic', { displayName: 'serverless-diffusion budget exceeded', enforceSSL: true });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        actions: ['sns:Publish'],
        principals: [new iam.ServicePrincipal('budgets.amazonaws.com')],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
    );
    Validations.of(this.topic).acknowledge({
      id: 'AwsSolutions-SNS2',
      reason:
        "AWS Budgets can publish to an encrypted topic only with a customer managed KMS key ($1/month); its message holds the budget's name and amounts, no user data.",
    });

    const node = new NodeFunction(this, 'Handler', {
      entry: PATHS.budgetActionHandler,
      description: 'Stops new spending once the monthly budget is exceeded',
      timeout: Duration.seconds(30),
      environment: {
        REST_API_ID: props.restApiId,
        STAGE_NAME: props.stageName,
        ...(props.engineFunctionName ? { ENGINE_FUNCTION_NAME: props.engineFunctionName } : {}),
        POWERTOOLS_SERVICE_NAME: 'budget-action',
        POWERTOOLS_LOG_LEVEL: props.logLevel ?? 'INFO',
      },
    });
    node.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['apigateway:GET', 'apigateway:PATCH'],
        resources: [
          Arn.format({ service: 'apigateway', account: '', resource: '/restapis', resourceName: `${props.restApiId}/stages/${props.stageName}`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, stack),
        ],
      }),
    );
    if (props.engineFunctionName) {
      node.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['lambda:PutFunctionConcurrency'],
          resources: [
            Arn.format({ service: 'lambda', resource: 'function', resourceName: props.engineFunctionName, arnFormat: ArnFormat.COLON_RESOURCE_NAME }, stack),
          ],
        }),
      );
    }
    this.topic.addSubscription(new subscriptions.LambdaSubscription(node.function));
  }
}
