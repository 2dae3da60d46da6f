import { availableParallelism } from 'node:os';
import { threadsFromEnv } from '../../contract/engine-threads';
import { resolveThreads } from '../../container/src/engine/onnx/threads';
import { serverConfigFromEnv } from '../../container/src/server/server-config';
import { StableDiffusionPipeline } from '../../container/src/engine/pipeline';

describe('engine threads', () => {
  it('uses every CPU the host gives unless told otherwise', () => {
    expect(resolveThreads(undefined)).toBe(availableParallelism());
    expect(resolveThreads(1)).toBe(1);
  });

  it('reads ENGINE_THREADS and refuses a bad value by name', () => {
    expect(threadsFromEnv({})).toBeUndefined();
    expect(threadsFromEnv({ ENGINE_THREADS: '' })).toBeUndefined();
    expect(threadsFromEnv({ ENGINE_THREADS: '3' })).toBe(3);
    for (const bad of ['0', '-1', '2.5', 'all', '1000']) {
      expect(() => threadsFromEnv({ ENGINE_THREADS: bad })).toThrow(`ENGINE_THREADS must be an integer between 1 and 256 but is "${bad}"`);
    }
    expect(serverConfigFromEnv({ ENGINE_THREADS: '2' }).threads).toBe(2);
    expect(serverConfigFromEnv({}).threads).toBeUndefined();
  });

  it('gives the same pixels on one thread as on every thread', async () => {
    const request = { prompt: 'a red circle', steps: 2, width: 64, height: 64, seed: 3 };
    const [one, all] = await Promise.all(
      [1, undefined].map((threads) => StableDiffusionPipeline.load('test/fixtures/oracle/models/tiny-sd', { executionProvider: 'cpu', threads })),
    );
    try {
      const [a, b] = await Promise.all([one.generate(request), all.generate(request)]);
      let largest = 0;
      a.images[0].pixels.forEach((value, i) => (largest = Math.max(largest, Math.abs(value - b.images[0].pixels[i]))));
      expect(largest).toBeLessThan(1e-4);
    } finally {
      await Promise.all([one.release(), all.release()]);
    }
  });
});
