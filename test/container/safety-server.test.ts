/**
 * The engine server with the model's safety checker: SAFETY_CHECKER read and refused by name, the
 * load warning when a required checker is missing, and `/invocations` answering a withheld image
 * by seed (as JSON even when an image type was asked for and none is left to send).
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { safetyCheckerFromEnv } from '../../contract/safety';
import type { Logger } from '../../container/src/server/json-logger';
import { serverConfigFromEnv } from '../../container/src/server/server-config';
import { startEngineServer } from '../../container/src/server/start';
import { httpRequest, postJson } from '../support/http';
import { TINY_SD_SAFETY } from '../support/oracle';

function capturingLogger(): { logger: Logger; lines: Array<{ level: string; message: string }> } {
  const lines: Array<{ level: string; message: string }> = [];
  const log = (level: string) => (message: string) => lines.push({ level, message });
  return { logger: { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') }, lines };
}

describe('SAFETY_CHECKER', () => {
  it('is model unless set, off when set so, and refused by name otherwise', () => {
    expect(safetyCheckerFromEnv({})).toBe('model');
    expect(serverConfigFromEnv({ SAFETY_CHECKER: 'off' }).safetyChecker).toBe('off');
    expect(() => serverConfigFromEnv({ SAFETY_CHECKER: 'strict' })).toThrow('SAFETY_CHECKER must be one of model, off but is "strict"');
  });
});

describe('the engine server on tiny-sd-safety', () => {
  it('answers a withheld image by seed, as JSON even to an image Accept, and reports its filter on /ping', async () => {
    const { logger, lines } = capturingLogger();
    const server = await startEngineServer({ modelDir: TINY_SD_SAFETY, port: 0, executionProvider: 'cpu', logger });
    try {
      await server.ready;
      expect((await httpRequest(`${server.url}/ping`)).json().model).toMatchObject({ content_filter: 'safety_checker' });
      const request = { prompt: 'a cat', width: 64, height: 64, steps: 2, seed: 7, num_images: 2 };
      const json = (await postJson(`${server.url}/invocations`, request)).json();
      expect(json.images).toEqual([
        { seed: 7, withheld: 'safety' },
        { seed: 8, withheld: 'safety' },
      ]);
      expect(json.timings.safety_check_ms).toBeGreaterThan(0);
      const asImage = await postJson(`${server.url}/invocations`, request, { Accept: 'image/png' });
      expect(asImage.status).toBe(200);
      expect(asImage.headers['content-type']).toMatch(/application\/json/);
      expect(asImage.json().images[0]).toEqual({ seed: 7, withheld: 'safety' });
      expect(lines.filter((line) => line.level === 'warn')).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('warns at load when the model requires a checker its folder lacks, and says there is no filter', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'no-checker-'));
    try {
      cpSync(TINY_SD_SAFETY, dir, { recursive: true });
      rmSync(join(dir, 'safety_checker'), { recursive: true });
      const { logger, lines } = capturingLogger();
      const server = await startEngineServer({ modelDir: dir, port: 0, executionProvider: 'cpu', logger });
      try {
        await server.ready;
        expect(lines).toContainEqual({ level: 'warn', message: expect.stringMatching(/^no content filter: model_index\.json requires a safety checker/) });
        expect((await httpRequest(`${server.url}/ping`)).json().model).toMatchObject({ content_filter: 'none' });
      } finally {
        await server.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
