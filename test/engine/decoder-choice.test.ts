/**
 * `backend.decoder` from the deployment config to the engine: the config's default and refusal,
 * the engine's `DECODER` variable (server and Lambda function), and `auto`'s rule.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withDeployedDecoder } from '../../lib/config/deployed-decoder';
import { ORACLE_DIR } from '../support/oracle';
import { resolveDecoder } from '../../container/src/engine/decoder/latent-decoder';
import { decoderFromEnv, serverConfigFromEnv } from '../../container/src/server/server-config';
import { DeploymentConfigError, parseDeploymentConfig } from '../../lib/config/deployment-config';

it('defaults backend.decoder to auto and refuses anything but full, tiny or auto, naming the field', () => {
  expect(parseDeploymentConfig({}).backend.decoder).toBe('auto');
  expect(parseDeploymentConfig({ backend: { mode: 'lambda', decoder: 'tiny' } }).backend.decoder).toBe('tiny');
  expect(() => parseDeploymentConfig({ backend: { decoder: 'fast' } })).toThrow(DeploymentConfigError);
  expect(() => parseDeploymentConfig({ backend: { decoder: 'fast' } })).toThrow(/backend\.decoder/);
});

it('reads DECODER for the engine server and the Lambda function, refusing a bad value by name', () => {
  expect(serverConfigFromEnv({}).decoder).toBe('auto');
  expect(serverConfigFromEnv({ DECODER: 'full', TINY_VAE_DIR: '/models/taesd' })).toMatchObject({ decoder: 'full', tinyVaeDir: '/models/taesd' });
  expect(decoderFromEnv({ DECODER: 'tiny' })).toBe('tiny');
  expect(() => decoderFromEnv({ DECODER: 'small' })).toThrow('DECODER must be one of full, tiny, auto but is "small"');
});

it('auto takes the tiny decoder on a CPU when there is one, the full one on a GPU', () => {
  expect(resolveDecoder('auto', 'cpu', true)).toBe('tiny');
  expect(resolveDecoder('auto', 'cpu', false)).toBe('full');
  expect(resolveDecoder('auto', 'cuda', true)).toBe('full');
  expect(resolveDecoder('full', 'cpu', true)).toBe('full');
  expect(resolveDecoder('tiny', 'cuda', true)).toBe('tiny');
});

describe('the decoder /v1/status reports in deployed modes (read at synth)', () => {
  const TINY_SD_DIR = join(ORACLE_DIR, 'models', 'tiny-sd');
  let withTaesd: string;
  beforeAll(() => {
    withTaesd = mkdtempSync(join(tmpdir(), 'deployed-decoder-'));
    cpSync(TINY_SD_DIR, withTaesd, { recursive: true });
    cpSync(join(ORACLE_DIR, 'models', 'tiny-taesd'), join(withTaesd, 'taesd'), { recursive: true });
  });
  afterAll(() => rmSync(withTaesd, { recursive: true, force: true }));

  it('is tiny in lambda mode for a local model with taesd/ inside, full on a GPU or without one', () => {
    const lambda = parseDeploymentConfig({ backend: { mode: 'lambda' }, model: { localPath: withTaesd } });
    expect(withDeployedDecoder(lambda)?.decoder).toBe('tiny');
    const gpu = parseDeploymentConfig({ backend: { mode: 'async' }, model: { localPath: withTaesd } });
    expect(withDeployedDecoder(gpu)?.decoder).toBe('full');
    const plain = parseDeploymentConfig({ backend: { mode: 'lambda' }, model: { localPath: TINY_SD_DIR } });
    expect(withDeployedDecoder(plain)?.decoder).toBe('full');
  });
});
