/**
 * npm run block -- add CIDR [--reason TEXT] | remove CIDR [--reason TEXT] | list
 */
import { appendFileSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { runCli, UsageError } from '../../container/src/cli/cli-errors';
import { mergeContext } from '../../lib/config/context';
import { parseDeploymentConfig } from '../../lib/config/deployment-config';
import { stackName } from '../../lib/config/resource-names';
import { REPO_ROOT } from '../../lib/paths';
import type { BlockList } from './block-list';
import { parseCidr } from './cidr';
import { findBlockList } from './find-block-list';

export const USAGE = `Usage:
  npm run block -- add CIDR [--reason TEXT]      refuse an address or range within seconds
  npm run block -- remove CIDR [--reason TEXT]   let it in again
  npm run block -- list                          print the block list
Options:
  --stack NAME    the gateway stack (default: <appName>-Gateway from cdk.json)
  --region NAME   its region (default: region from cdk.json)
  --log FILE      also append each change's JSON line to FILE

With WAF it changes the block list's IP sets; without WAF, the REST API's resource policy, and
redeploys the stage. Each change prints one JSON line with its reason. The change lives in AWS
only: put lasting blocks into waf.blockCidrs too, since a deploy that changes that list resets it.`;

export interface BlockCommandEnvironment {
  /** cdk.json's context, for the stack name and region. */
  readonly context: Record<string, unknown>;
  /** @default findBlockList */
  readonly blockList?: (stackName: string, region: string) => Promise<BlockList>;
  readonly now?: () => Date;
  readonly print: (line: string) => void;
}

/** Runs one command; prints one JSON line (the change, or the list). */
export async function runBlockCommand(argv: readonly string[], environment: BlockCommandEnvironment): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { reason: { type: 'string' }, stack: { type: 'string' }, region: { type: 'string' }, log: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const [command, cidrText, ...extra] = positionals;
  if (command !== 'add' && command !== 'remove' && command !== 'list') {
    throw new UsageError(`the command must be add, remove or list but is ${JSON.stringify(command ?? '')}`);
  }
  if (extra.length > 0 || (command === 'list' && cidrText !== undefined)) throw new UsageError(`unexpected argument ${JSON.stringify(extra[0] ?? cidrText)}`);
  if (command === 'list' && values.reason !== undefined) throw new UsageError('--reason goes with add or remove');
  const cidr = command === 'list' ? undefined : requireCidr(cidrText);

  const config = parseDeploymentConfig(mergeContext(environment.context));
  const stack = values.stack ?? stackName(config, 'Gateway');
  const region = values.region ?? config.region;
  const blockList = await (environment.blockList ?? findBlockList)(stack, region);
  if (!cidr) {
    environment.print(JSON.stringify({ stack, target: blockList.kind, resource: blockList.resource, cidrs: await blockList.list() }));
    return;
  }
  const reason = values.reason ?? null;
  const change = await (command === 'add' ? blockList.add(cidr, values.reason) : blockList.remove(cidr, values.reason));
  const line = JSON.stringify({
    time: (environment.now ?? (() => new Date()))().toISOString(),
    action: command,
    cidr: cidr.text,
    reason,
    changed: change.changed,
    stack,
    target: blockList.kind,
    resource: blockList.resource,
    attempts: change.attempts,
    ...(change.deploymentId ? { deployment_id: change.deploymentId } : {}),
  });
  environment.print(line);
  if (values.log) appendFileSync(values.log, `${line}\n`);
}

function requireCidr(text: string | undefined): NonNullable<ReturnType<typeof parseCidr>> {
  if (text === undefined) throw new UsageError('give the CIDR block to add or remove, such as 203.0.113.7/32');
  const cidr = parseCidr(text);
  if (!cidr) throw new UsageError(`${JSON.stringify(text)} is not a CIDR block such as 203.0.113.7/32 or 2001:db8::/48`);
  if (cidr.hostBitsSet) throw new UsageError(`${text} has bits set past its prefix; did you mean ${cidr.text}?`);
  return cidr;
}

function cdkJsonContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, 'cdk.json'), 'utf8')).context ?? {};
}

if (require.main === module) {
  if (process.argv.slice(2).some((arg) => arg === '--help' || arg === 'help')) {
    process.stdout.write(`${USAGE}\n`);
  } else {
    runCli('block', (argv) => runBlockCommand(argv, { context: cdkJsonContext(), print: (line) => process.stdout.write(`${line}\n`) }));
  }
}
