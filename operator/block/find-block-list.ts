import { APIGatewayClient } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { WAFV2Client } from '@aws-sdk/client-wafv2';
import { GATEWAY_OUTPUTS } from '../../lib/config/operator-handles';
import type { BlockList } from './block-list';
import { ResourcePolicyBlockList } from './policy-block-list';
import { parseIpSetArn, WafBlockList } from './waf-block-list';

/**
 * Finds the block list of a deployed gateway stack from its outputs: the WAF IP sets when the
 * stack has a web ACL, the REST API's resource policy when it has none. What is deployed decides,
 * not cdk.json, which may have changed since.
 */
export async function findBlockList(stackName: string, region: string): Promise<BlockList> {
  const cloudFormation = new CloudFormationClient({ region });
  const { Stacks: stacks } = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
  const outputs = new Map((stacks?.[0]?.Outputs ?? []).map((output) => [output.OutputKey, output.OutputValue]));
  const ipv4 = outputs.get(GATEWAY_OUTPUTS.blockListIpv4Arn);
  const ipv6 = outputs.get(GATEWAY_OUTPUTS.blockListIpv6Arn);
  if (ipv4 && ipv6) {
    const sets = { IPV4: parseIpSetArn(ipv4), IPV6: parseIpSetArn(ipv6) };
    return new WafBlockList(new WAFV2Client({ region: sets.IPV4.region }), sets);
  }
  const restApiId = outputs.get(GATEWAY_OUTPUTS.restApiId);
  const stage = outputs.get(GATEWAY_OUTPUTS.stageName);
  if (restApiId && stage) return new ResourcePolicyBlockList(new APIGatewayClient({ region }), restApiId, stage);
  throw new Error(
    `stack ${stackName} has neither the ${GATEWAY_OUTPUTS.blockListIpv4Arn}/${GATEWAY_OUTPUTS.blockListIpv6Arn} outputs (WAF) ` +
      `nor ${GATEWAY_OUTPUTS.restApiId}/${GATEWAY_OUTPUTS.stageName} (no WAF); deploy this version of the gateway first`,
  );
}
