import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { APIGatewayClient, CreateDeploymentCommand, GetRestApiCommand, UpdateRestApiCommand } from '@aws-sdk/client-api-gateway';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  GetIPSetCommand,
  UpdateIPSetCommand,
  WAFOptimisticLockException,
  WAFV2Client,
  type GetIPSetCommandInput,
  type UpdateIPSetCommandInput,
} from '@aws-sdk/client-wafv2';
import { mockClient } from 'aws-sdk-client-mock';
import { UsageError } from '../../container/src/cli/cli-errors';
import { parseCidr, type Cidr } from '../../operator/block/cidr';
import { runBlockCommand } from '../../operator/block/cli';
import { findBlockList } from '../../operator/block/find-block-list';
import { parseRestApiPolicy, ResourcePolicyBlockList } from '../../operator/block/policy-block-list';
import { parseIpSetArn, WafBlockList } from '../../operator/block/waf-block-list';

process.env.AWS_ACCESS_KEY_ID = 'AKIAIOSFODNN7EXAMPLE';
process.env.AWS_SECRET_ACCESS_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

const waf = mockClient(WAFV2Client);
const apiGateway = mockClient(APIGatewayClient);
const cloudFormation = mockClient(CloudFormationClient);
beforeEach(() => {
  waf.reset();
  apiGateway.reset();
  cloudFormation.reset();
});

const cidr = (text: string): Cidr => parseCidr(text)!;
const ARNS = {
  IPV4: 'arn:aws:wafv2:us-east-1:123456789012:regional/ipset/serverless-diffusion-block-ipv4/a1b2c3d4-1111-2222-3333-444455556666',
  IPV6: 'arn:aws:wafv2:us-east-1:123456789012:regional/ipset/serverless-diffusion-block-ipv6/f1e2d3c4-1111-2222-3333-444455556666',
};
/** Waits a random few milliseconds, so concurrent calls interleave differently each time. */
const jitter = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 5));

describe('CIDR blocks', () => {
  it('compare as numbers, whatever the spelling', () => {
    expect(cidr('2001:DB8::/32').text).toBe('2001:db8::/32');
    expect(cidr('2001:0db8:0000:0000::/32').network).toBe(cidr('2001:db8::/32').network);
    expect(cidr('2001:db8:0:0:1:0:0:1/128').text).toBe('2001:db8::1:0:0:1/128');
    expect(cidr('::ffff:192.0.2.1/128').text).toBe('::ffff:c000:201/128');
    expect(cidr('203.0.113.7/32')).toMatchObject({ version: 'IPV4', text: '203.0.113.7/32', hostBitsSet: false });
  });

  it('know when bits are set past the prefix, and refuse what is not a block', () => {
    expect(cidr('192.0.2.77/24')).toMatchObject({ text: '192.0.2.0/24', hostBitsSet: true });
    for (const text of ['192.0.2.1', '192.0.2.0/33', '192.0.2.0/0', '2001:db8::/129', 'office', '300.1.1.1/32']) {
      expect([text, parseCidr(text)]).toEqual([text, undefined]);
    }
  });
});

/** WAF's IP set API over an in-memory set per id, with its lock tokens. */
function fakeWaf() {
  const sets = new Map<string, { addresses: string[]; description: string; token: number }>([
    ['a1b2c3d4-1111-2222-3333-444455556666', { addresses: [], description: 'serverless-diffusion block list IPV4', token: 1 }],
    ['f1e2d3c4-1111-2222-3333-444455556666', { addresses: [], description: 'serverless-diffusion block list IPV6', token: 1 }],
  ]);
  /** Runs once, just before the next update is checked: another writer's change landing first. */
  const hooks: { beforeNextUpdate?: (id: string) => void } = {};
  waf.on(GetIPSetCommand).callsFake(async (input: GetIPSetCommandInput) => {
    await jitter();
    const set = sets.get(input.Id!)!;
    return { IPSet: { Name: input.Name, Id: input.Id, ARN: 'arn', IPAddressVersion: 'IPV4', Addresses: [...set.addresses], Description: set.description }, LockToken: `token-${set.token}` };
  });
  waf.on(UpdateIPSetCommand).callsFake(async (input: UpdateIPSetCommandInput) => {
    await jitter();
    const interfere = hooks.beforeNextUpdate;
    hooks.beforeNextUpdate = undefined;
    interfere?.(input.Id!);
    const set = sets.get(input.Id!)!;
    if (input.LockToken !== `token-${set.token}`) {
      throw new WAFOptimisticLockException({ message: 'AWS WAF couldn’t save your changes because someone changed the resource after you started to edit it.', $metadata: {} });
    }
    sets.set(input.Id!, { addresses: [...input.Addresses!], description: input.Description ?? '', token: set.token + 1 });
    return { NextLockToken: `token-${set.token + 1}` };
  });
  const list = () => new WafBlockList(new WAFV2Client({ region: 'us-east-1' }), { IPV4: parseIpSetArn(ARNS.IPV4), IPV6: parseIpSetArn(ARNS.IPV6) });
  return { sets, hooks, list, ipv4: () => sets.get('a1b2c3d4-1111-2222-3333-444455556666')!, ipv6: () => sets.get('f1e2d3c4-1111-2222-3333-444455556666')! };
}

describe('the WAF block list', () => {
  it('adds to the set of the address version, with the lock token read, keeping the description', async () => {
    const fake = fakeWaf();
    expect(await fake.list().add(cidr('203.0.113.7/32'))).toEqual({ changed: true, attempts: 1 });
    expect(await fake.list().add(cidr('2001:db8:bad::/48'))).toEqual({ changed: true, attempts: 1 });
    expect(fake.ipv4().addresses).toEqual(['203.0.113.7/32']);
    expect(fake.ipv6().addresses).toEqual(['2001:db8:bad::/48']);
    expect(waf.commandCalls(UpdateIPSetCommand)[0].args[0].input).toEqual({
      Name: 'serverless-diffusion-block-ipv4',
      Id: 'a1b2c3d4-1111-2222-3333-444455556666',
      Scope: 'REGIONAL',
      Addresses: ['203.0.113.7/32'],
      Description: 'serverless-diffusion block list IPV4',
      LockToken: 'token-1',
    });
    expect(await fake.list().list()).toEqual(['203.0.113.7/32', '2001:db8:bad::/48']);
  });

  it('writes nothing when the block is already there, or already gone, in any spelling', async () => {
    const fake = fakeWaf();
    fake.ipv6().addresses = ['2001:DB8:BAD::/48'];
    expect(await fake.list().add(cidr('2001:db8:bad:0::/48'))).toEqual({ changed: false, attempts: 1 });
    expect(await fake.list().remove(cidr('203.0.113.7/32'))).toEqual({ changed: false, attempts: 1 });
    expect(waf.commandCalls(UpdateIPSetCommand)).toHaveLength(0);
    expect(await fake.list().remove(cidr('2001:db8:bad::/48'))).toEqual({ changed: true, attempts: 1 });
    expect(fake.ipv6().addresses).toEqual([]);
  });

  it('applies the change again on top of a concurrent one when the lock token is stale: neither is lost', async () => {
    const fake = fakeWaf();
    // Someone else's change lands between our read and our write.
    fake.hooks.beforeNextUpdate = (id) => {
      const set = fake.sets.get(id)!;
      fake.sets.set(id, { ...set, addresses: [...set.addresses, '198.51.100.0/24'], token: set.token + 1 });
    };
    expect(await fake.list().add(cidr('203.0.113.7/32'))).toEqual({ changed: true, attempts: 2 });
    expect(fake.ipv4().addresses).toEqual(['198.51.100.0/24', '203.0.113.7/32']);
    expect(waf.commandCalls(UpdateIPSetCommand).map((call) => call.args[0].input.LockToken)).toEqual(['token-1', 'token-2']);
  });

  it('keeps every one of ten changes made at once', async () => {
    const fake = fakeWaf();
    const addresses = Array.from({ length: 10 }, (_, index) => `198.51.100.${index}/32`);
    const changes = await Promise.all(addresses.map((address) => fake.list().add(cidr(address))));
    expect(changes.every((change) => change.changed)).toBe(true);
    expect(changes.some((change) => change.attempts > 1)).toBe(true);
    expect([...fake.ipv4().addresses].sort()).toEqual([...addresses].sort());
  });

  it('gives up, having changed nothing, when the set keeps changing', async () => {
    fakeWaf();
    waf.on(UpdateIPSetCommand).rejects(new WAFOptimisticLockException({ message: 'changed', $metadata: {} }));
    const list = new WafBlockList(new WAFV2Client({ region: 'us-east-1' }), { IPV4: parseIpSetArn(ARNS.IPV4), IPV6: parseIpSetArn(ARNS.IPV6) }, { maxAttempts: 3 });
    await expect(list.add(cidr('203.0.113.7/32'))).rejects.toThrow(
      'serverless-diffusion-block-ipv4 kept changing under 3 attempts to add 203.0.113.7/32; nothing was changed, try again',
    );
    expect(waf.commandCalls(UpdateIPSetCommand)).toHaveLength(3);
  });

  it('lets any other refusal through (a full set, missing permissions)', async () => {
    const fake = fakeWaf();
    waf.on(UpdateIPSetCommand).rejects(Object.assign(new Error('The operation exceeds a resource limit'), { name: 'WAFLimitsExceededException' }));
    await expect(fake.list().add(cidr('203.0.113.7/32'))).rejects.toThrow('exceeds a resource limit');
    expect(waf.commandCalls(UpdateIPSetCommand)).toHaveLength(1);
  });

  it('reads name, id, scope and region from the IP set ARN', () => {
    expect(parseIpSetArn(ARNS.IPV6)).toEqual({ name: 'serverless-diffusion-block-ipv6', id: 'f1e2d3c4-1111-2222-3333-444455556666', scope: 'REGIONAL', region: 'us-east-1', arn: ARNS.IPV6 });
    expect(() => parseIpSetArn('arn:aws:s3:::bucket')).toThrow('not a WAF IP set ARN');
  });
});

/** The REST API as API Gateway answers GetRestApi: the policy with its quotes backslash-escaped. */
function fakeRestApi(initialBlocked: string[] = []) {
  const resource = 'arn:aws:execute-api:us-east-1:123456789012:abc123/*';
  const statement = (sid: string, effect: string, extra: object = {}) => ({ Sid: sid, Effect: effect, Principal: { AWS: '*' }, Action: 'execute-api:Invoke', Resource: resource, ...extra });
  let policy: { Version: string; Statement: object[] } = {
    Version: '2012-10-17',
    Statement: [
      statement('PublicInvoke', 'Allow'),
      ...(initialBlocked.length ? [statement('BlockList', 'Deny', { Condition: { IpAddress: { 'aws:SourceIp': initialBlocked } } })] : []),
    ],
  };
  /** Runs once, right after the next write: another writer's older read landing over it. */
  const hooks: { afterNextUpdate?: () => void } = {};
  const state = {
    hooks,
    get policy() {
      return policy;
    },
    set policy(value) {
      policy = value;
    },
    blocked: () => (policy.Statement.find((s: any) => s.Sid === 'BlockList') as any)?.Condition.IpAddress['aws:SourceIp'] ?? [],
  };
  apiGateway.on(GetRestApiCommand).callsFake(async () => {
    await jitter();
    return { id: 'abc123', name: 'Api', policy: JSON.stringify(policy).replace(/"/g, '\\"') };
  });
  apiGateway.on(UpdateRestApiCommand).callsFake(async (input: { patchOperations: Array<{ op: string; path: string; value: string }> }) => {
    await jitter();
    expect(input.patchOperations).toEqual([{ op: 'replace', path: '/policy', value: expect.any(String) }]);
    policy = JSON.parse(input.patchOperations[0].value);
    const interfere = hooks.afterNextUpdate;
    hooks.afterNextUpdate = undefined;
    interfere?.();
    return {};
  });
  let deployments = 0;
  apiGateway.on(CreateDeploymentCommand).callsFake(async () => ({ id: `deployment-${++deployments}` }));
  // Settles well past the fake's round trips (5 ms of jitter a call).
  const list = () => new ResourcePolicyBlockList(new APIGatewayClient({ region: 'us-east-1' }), 'abc123', 'prod', { settleMs: 50 });
  return { state, list, resource };
}

describe('the resource policy block list (without WAF)', () => {
  it('adds the block to the BlockList statement, then redeploys the stage with the reason', async () => {
    const fake = fakeRestApi();
    expect(await fake.list().add(cidr('203.0.113.7/32'), 'scraping')).toEqual({ changed: true, attempts: 1, deploymentId: 'deployment-1' });
    expect(fake.state.policy.Statement).toEqual([
      expect.objectContaining({ Sid: 'PublicInvoke', Effect: 'Allow' }),
      {
        Sid: 'BlockList',
        Effect: 'Deny',
        Principal: { AWS: '*' },
        Action: 'execute-api:Invoke',
        // The deployed policy's own resource, taken from the allow statement.
        Resource: fake.resource,
        Condition: { IpAddress: { 'aws:SourceIp': ['203.0.113.7/32'] } },
      },
    ]);
    expect(apiGateway.commandCalls(CreateDeploymentCommand)[0].args[0].input).toEqual({
      restApiId: 'abc123',
      stageName: 'prod',
      description: 'npm run block: add 203.0.113.7/32 (scraping)',
    });
  });

  it('drops the statement with its last block, since IAM refuses an empty list', async () => {
    const fake = fakeRestApi(['203.0.113.7/32']);
    expect(await fake.list().list()).toEqual(['203.0.113.7/32']);
    expect(await fake.list().remove(cidr('203.0.113.7/32'))).toMatchObject({ changed: true });
    expect(fake.state.policy.Statement).toEqual([expect.objectContaining({ Sid: 'PublicInvoke' })]);
  });

  it('neither writes nor redeploys when nothing changes', async () => {
    const fake = fakeRestApi(['203.0.113.7/32']);
    expect(await fake.list().add(cidr('203.0.113.7/32'))).toEqual({ changed: false, attempts: 1 });
    expect(apiGateway.commandCalls(UpdateRestApiCommand)).toHaveLength(0);
    expect(apiGateway.commandCalls(CreateDeploymentCommand)).toHaveLength(0);
  });

  it('writes again when a concurrent writer replaced the policy without this change, and deploys once', async () => {
    const fake = fakeRestApi();
    // Another operator's write, based on the policy before ours, lands right after ours.
    const before = fake.state.policy;
    fake.state.hooks.afterNextUpdate = () => {
      fake.state.policy = {
        Version: '2012-10-17',
        Statement: [
          ...before.Statement,
          { Sid: 'BlockList', Effect: 'Deny', Principal: { AWS: '*' }, Action: 'execute-api:Invoke', Resource: fake.resource, Condition: { IpAddress: { 'aws:SourceIp': ['198.51.100.0/24'] } } },
        ],
      };
    };
    expect(await fake.list().add(cidr('203.0.113.7/32'))).toMatchObject({ changed: true, attempts: 2 });
    expect(fake.state.blocked()).toEqual(['198.51.100.0/24', '203.0.113.7/32']);
    expect(apiGateway.commandCalls(CreateDeploymentCommand)).toHaveLength(1);
  });

  it('keeps both of two changes made at once', async () => {
    const fake = fakeRestApi();
    await Promise.all([fake.list().add(cidr('203.0.113.7/32')), fake.list().add(cidr('198.51.100.0/24'))]);
    expect([...fake.state.blocked()].sort()).toEqual(['198.51.100.0/24', '203.0.113.7/32']);
  });

  it('reads the policy both as API Gateway escapes it and as plain JSON', () => {
    const document = { Version: '2012-10-17', Statement: [{ Sid: 'PublicInvoke', Effect: 'Allow', Resource: 'arn:aws:execute-api:us-east-1:1:abc/*' }] };
    expect(parseRestApiPolicy(JSON.stringify(document).replace(/"/g, '\\"').replace(/\//g, '\\/'))).toEqual(document);
    expect(parseRestApiPolicy(JSON.stringify(document))).toEqual(document);
    expect(parseRestApiPolicy(undefined).Statement).toEqual([]);
  });
});

describe('finding the block list', () => {
  const outputs = (entries: Record<string, string>) =>
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: 'App-Gateway', CreationTime: new Date(), StackStatus: 'CREATE_COMPLETE', Outputs: Object.entries(entries).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })) }],
    });

  it('takes the WAF IP sets from the stack outputs when the stack has them', async () => {
    outputs({ BlockListIpv4Arn: ARNS.IPV4, BlockListIpv6Arn: ARNS.IPV6, RestApiId: 'abc123', StageName: 'prod' });
    const list = await findBlockList('App-Gateway', 'us-east-1');
    expect(list).toBeInstanceOf(WafBlockList);
    expect(list.resource).toBe(`${ARNS.IPV4} ${ARNS.IPV6}`);
    expect(cloudFormation.commandCalls(DescribeStacksCommand)[0].args[0].input).toEqual({ StackName: 'App-Gateway' });
  });

  it('takes the REST API and its stage when there is no WAF', async () => {
    outputs({ RestApiId: 'abc123', StageName: 'prod', ApiUrl: 'https://abc123.execute-api.us-east-1.amazonaws.com/prod/' });
    const list = await findBlockList('App-Gateway', 'us-east-1');
    expect(list).toBeInstanceOf(ResourcePolicyBlockList);
    expect(list.resource).toBe('abc123/prod');
  });

  it('says what is missing from a stack deployed before the block list existed', async () => {
    outputs({ ApiUrl: 'https://abc123.execute-api.us-east-1.amazonaws.com/prod/' });
    await expect(findBlockList('App-Gateway', 'us-east-1')).rejects.toThrow(/stack App-Gateway has neither the BlockListIpv4Arn\/BlockListIpv6Arn outputs \(WAF\) nor RestApiId\/StageName/);
  });
});

describe('npm run block', () => {
  const context = { serverlessDiffusion: { appName: 'Pics', region: 'eu-west-1' } };
  const run = async (argv: string[]) => {
    const lines: string[] = [];
    const asked: string[] = [];
    const fake = fakeWaf();
    await runBlockCommand(argv, {
      context,
      now: () => new Date('2026-03-14T12:00:00Z'),
      print: (line) => lines.push(line),
      blockList: async (stack, region) => {
        asked.push(`${stack} ${region}`);
        return fake.list();
      },
    });
    return { lines, asked, fake };
  };

  it('logs every change as one JSON line with its reason', async () => {
    const { lines, asked } = await run(['add', '203.0.113.7/32', '--reason', 'scripted requests, ticket 42']);
    expect(asked).toEqual(['Pics-Gateway eu-west-1']);
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      {
        time: '2026-03-14T12:00:00.000Z',
        action: 'add',
        cidr: '203.0.113.7/32',
        reason: 'scripted requests, ticket 42',
        changed: true,
        stack: 'Pics-Gateway',
        target: 'waf',
        resource: `${ARNS.IPV4} ${ARNS.IPV6}`,
        attempts: 1,
      },
    ]);
  });

  it('appends the same line to --log, and takes --stack and --region', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'block-log-'));
    try {
      const log = path.join(folder, 'blocks.jsonl');
      const first = await run(['remove', '203.0.113.7/32', '--stack', 'Other-Gateway', '--region', 'us-west-2', '--log', log]);
      const second = await run(['add', '2001:db8::/32', '--log', log]);
      expect(first.asked).toEqual(['Other-Gateway us-west-2']);
      expect(readFileSync(log, 'utf8')).toBe(`${first.lines[0]}\n${second.lines[0]}\n`);
      expect(JSON.parse(first.lines[0])).toMatchObject({ action: 'remove', changed: false, reason: null });
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('lists the blocks', async () => {
    const { lines } = await run(['list']);
    expect(JSON.parse(lines[0])).toEqual({ stack: 'Pics-Gateway', target: 'waf', resource: `${ARNS.IPV4} ${ARNS.IPV6}`, cidrs: [] });
  });

  it('refuses a bad command line in one line, before touching AWS', async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /the command must be add, remove or list but is ""/],
      [['block', '1.2.3.4/32'], /the command must be add, remove or list but is "block"/],
      [['add'], /give the CIDR block to add or remove/],
      [['add', '203.0.113.7'], /"203\.0\.113\.7" is not a CIDR block/],
      [['add', '203.0.113.7/24'], /203\.0\.113\.7\/24 has bits set past its prefix; did you mean 203\.0\.113\.0\/24\?/],
      [['add', '203.0.113.7/32', 'extra'], /unexpected argument "extra"/],
      [['list', '203.0.113.7/32'], /unexpected argument/],
      [['list', '--reason', 'x'], /--reason goes with add or remove/],
      [['add', '203.0.113.7/32', '--reson', 'x'], /Unknown option '--reson'/],
    ];
    for (const [argv, message] of cases) {
      const failure = await run(argv).catch((error: unknown) => error);
      expect([argv, failure]).toEqual([argv, expect.any(UsageError)]);
      expect((failure as Error).message).toMatch(message);
    }
    expect(waf.calls()).toHaveLength(0);
  });
});
