import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseGatewaySecrets, type GatewaySecrets } from '../lambda/src/secrets';

/**
 * Local mode's stand-in for the Secrets Manager secret: generated on first start and kept in the
 * data folder, so job ids (signed with it) stay valid across restarts like the jobs on disk.
 */
export function loadOrCreateLocalSecrets(dataDir: string): GatewaySecrets {
  const file = join(dataDir, 'gateway-secret.json');
  try {
    return parseGatewaySecrets(JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file}: ${(error as Error).message}`);
  }
  const secrets: GatewaySecrets = { idSigningKey: randomBytes(32).toString('base64url') };
  writeFileSync(file, JSON.stringify(secrets), { mode: 0o600, flag: 'wx' });
  return secrets;
}
