import { CfnResource, RemovalPolicy, type IAspect } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { IConstruct } from 'constructs';

/**
 * Gives the Lambda handlers of aws-cdk-lib's custom resource providers (such as the one behind a
 * bucket's `autoDeleteObjects`) a log group with a retention. They are plain `CfnResource`s outside
 * our constructs, with no log group of their own: Lambda would create `/aws/lambda/<name>` on their
 * first run and keep it, and the bucket names they log, forever. Our own functions (`lambda.CfnFunction`)
 * choose their log group where they are built.
 */
export class ProviderLogGroups implements IAspect {
  constructor(private readonly retention: logs.RetentionDays) {}

  visit(node: IConstruct): void {
    if (!CfnResource.isCfnResource(node) || node.cfnResourceType !== 'AWS::Lambda::Function') return;
    if (node.constructor !== CfnResource) return;
    const scope = node.node.scope!;
    if (scope.node.tryFindChild('Logs')) return;
    const group = new logs.LogGroup(scope, 'Logs', { retention: this.retention, removalPolicy: RemovalPolicy.DESTROY });
    node.addPropertyOverride('LoggingConfig', { LogGroup: group.logGroupName });
  }
}
