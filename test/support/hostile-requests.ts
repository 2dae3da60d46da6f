/**
 * Seeded generators of malformed and hostile request bodies, shared by the fuzz tests of every tier
 * that accepts generation requests.
 */
import { Mt19937 } from '../../container/src/engine/noise/torch-compatible-randn';
import { LIMITS } from '../../contract/limits';

export class FuzzRandom {
  private readonly engine: Mt19937;
  constructor(seed: number) {
    this.engine = new Mt19937(seed);
  }
  float(): number {
    return this.engine.nextUint32() / 2 ** 32;
  }
  int(maxExclusive: number): number {
    return Math.floor(this.float() * maxExclusive);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
  bytes(length: number): Buffer {
    return Buffer.from(Array.from({ length }, () => this.int(256)));
  }
}

const FIELDS = ['prompt', 'negative_prompt', 'steps', 'guidance_scale', 'width', 'height', 'seed', 'scheduler', 'num_images', 'output_format'];

const NASTY_VALUES: unknown[] = [
  null, true, false, 0, -0, -1, 1.5, 1e308, -1e308, 2 ** 53 + 1, 4294967296, '', ' ', '\u0000', 'NaN', 'Infinity',
  '<script>alert(1)</script>', "'; DROP TABLE jobs; --", '../../etc/passwd', '${jndi:ldap://x}', '%s%s%s%n',
  '\ud800', '🤖'.repeat(300), 'a'.repeat(LIMITS.promptMaxLength + 1), [], [1, 2], {}, { $gt: '' }, { __proto__: { admin: true } },
  'pndm ', 'PNDM', 'png\n', 7.5, 8, 64, 72, 1016, 1024, 4096, 50, 51,
];

/** A JSON value of random shape, nested up to `depth`. */
export function randomJson(random: FuzzRandom, depth = 3): unknown {
  const kind = random.int(depth > 0 ? 7 : 5);
  switch (kind) {
    case 0: return null;
    case 1: return random.float() < 0.5;
    case 2: return (random.float() - 0.5) * 10 ** random.int(12);
    case 3: return random.bytes(random.int(40)).toString('latin1');
    case 4: return random.pick(NASTY_VALUES);
    case 5: return Array.from({ length: random.int(5) }, () => randomJson(random, depth - 1));
    default: {
      const object: Record<string, unknown> = {};
      for (let i = random.int(6); i > 0; i--) object[random.float() < 0.7 ? random.pick(FIELDS) : random.bytes(6).toString('hex')] = randomJson(random, depth - 1);
      return object;
    }
  }
}

/** A request that is almost valid: a real prompt and one or more fields set to something wrong. */
export function nearlyValidRequest(random: FuzzRandom): Record<string, unknown> {
  const request: Record<string, unknown> = { prompt: 'a lighthouse at dusk' };
  for (let i = 1 + random.int(3); i > 0; i--) request[random.pick(FIELDS)] = random.pick(NASTY_VALUES);
  if (random.float() < 0.2) request[random.pick(['__proto__', 'constructor', 'prototype', 'strength', 'PROMPT'])] = 'x';
  return request;
}

/** A body and its headers, drawn from every family of hostile input. */
export function hostileBody(random: FuzzRandom): { body: Buffer | string; contentType: string | undefined } {
  switch (random.int(6)) {
    case 0: return { body: JSON.stringify(randomJson(random)), contentType: 'application/json' };
    case 1: return { body: JSON.stringify(nearlyValidRequest(random)), contentType: 'application/json' };
    case 2: return { body: random.bytes(1 + random.int(2048)), contentType: 'application/json' };
    case 3: return { body: JSON.stringify({ prompt: 'x'.repeat(LIMITS.maxBodyBytes + random.int(1000)) }), contentType: 'application/json' };
    case 4: return { body: JSON.stringify({ prompt: 'a cat' }), contentType: random.pick([undefined, 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'image/png']) };
    default: return { body: `{"prompt": "${'['.repeat(random.int(5000))}`, contentType: 'application/json; charset=utf-8' };
  }
}
