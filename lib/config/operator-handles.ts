/**
 * How operator tools (`npm run block`) find the gateway's block list in a deployment: the gateway
 * stack's outputs, since AWS assigns the ids at creation and no configured name could say them,
 * and the ids of the resource policy's statements.
 */
export const GATEWAY_OUTPUTS = {
  apiUrl: 'ApiUrl',
  restApiId: 'RestApiId',
  stageName: 'StageName',
  /** With WAF only: ARNs (`.../ipset/<name>/<id>`) of the block list's IP sets. */
  blockListIpv4Arn: 'BlockListIpv4Arn',
  blockListIpv6Arn: 'BlockListIpv6Arn',
} as const;

/** The `Sid`s of the REST API resource policy's statements (without WAF). */
export const RESOURCE_POLICY_SIDS = { invoke: 'PublicInvoke', blockList: 'BlockList', allowListOnly: 'AllowListOnly' } as const;
