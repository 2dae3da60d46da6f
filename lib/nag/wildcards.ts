import { Stack, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';

/**
 * The id under which cdk-nag reports a wildcard resource (AwsSolutions-IAM5), computed the way
 * cdk-nag computes it, so that an acknowledgement names exactly one ARN pattern. The resource
 * must not be a cross-stack reference, whose form is only known after synthesis.
 */
export function wildcardResourceFinding(scope: IConstruct, resource: string): string {
  return `AwsSolutions-IAM5[Resource::${flattenCfnReference(Stack.of(scope).resolve(resource))}]`;
}

/** Acknowledges wildcard resources (object keys under a prefix, log streams) on a role or policy. */
export function acknowledgeWildcardResources(scope: IConstruct, resources: readonly string[], reason: string): void {
  Validations.of(scope).acknowledge(...resources.map((resource) => ({ id: wildcardResourceFinding(scope, resource), reason })));
}

/** Acknowledges wildcard actions (such as `s3:GetObject*`) on a role or policy. */
export function acknowledgeWildcardActions(scope: IConstruct, actions: readonly string[], reason: string): void {
  Validations.of(scope).acknowledge(...actions.map((action) => ({ id: `AwsSolutions-IAM5[Action::${action}]`, reason })));
}
