/** `cdk deploy` publishes the image and assets through the bootstrap stack's bucket and registry. */
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { AwsCallError, callAws, type Check } from '../check';

export const cdkBootstrap: Check = {
  name: 'CDK bootstrap',
  usesAws: true,
  async run(context) {
    const { region } = context.config;
    const bootstrap = `npx cdk bootstrap aws://${context.account ?? 'ACCOUNT'}/${region}`;
    let stacks;
    try {
      stacks = await callAws('CloudFormation DescribeStacks', () =>
        context.aws.cloudFormation.send(new DescribeStacksCommand({ StackName: context.toolkitStackName })),
      );
    } catch (error) {
      // CloudFormation answers a missing stack with ValidationError "Stack with id … does not exist".
      if (error instanceof AwsCallError && error.errorName === 'ValidationError' && /does not exist/.test(error.message)) {
        return { status: 'fail', message: `no ${context.toolkitStackName} stack in ${region}: this account and region are not bootstrapped`, fix: bootstrap };
      }
      throw error;
    }
    const stack = stacks.Stacks?.[0];
    const status = stack?.StackStatus ?? 'UNKNOWN';
    const version = stack?.Outputs?.find((output) => output.OutputKey === 'BootstrapVersion')?.OutputValue;
    if (/FAILED|ROLLBACK_COMPLETE|^DELETE/.test(status)) {
      return {
        status: 'fail',
        message: `${context.toolkitStackName} in ${region} is ${status}`,
        fix: `${status === 'ROLLBACK_COMPLETE' ? `delete the ${context.toolkitStackName} stack, then ` : ''}${bootstrap}`,
      };
    }
    if (/IN_PROGRESS/.test(status)) {
      return { status: 'warn', message: `${context.toolkitStackName} in ${region} is ${status}`, fix: 'wait for it to finish, then run the preflight again' };
    }
    return { status: 'pass', message: `${context.toolkitStackName} in ${region} is ${status}${version ? `, bootstrap version ${version}` : ''}` };
  },
};
