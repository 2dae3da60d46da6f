import { join } from 'node:path';
import { ClipTokenizer } from '../../container/src/engine/tokenizer/clip-tokenizer';
import { readReference, TINY_SD, TINY_SD_LEGACY } from '../support/oracle';

interface TokenizerReference {
  readonly max_length: number;
  readonly cases: ReadonlyArray<{ readonly prompt: string; readonly input_ids: number[] }>;
}

const reference = readReference('tokenizer.json') as TokenizerReference;

describe('ClipTokenizer', () => {
  let tokenizer: ClipTokenizer;
  beforeAll(async () => {
    tokenizer = await ClipTokenizer.fromModelFolder(join(TINY_SD, 'tokenizer'));
  });

  it.each(reference.cases.map((c) => [c.prompt.slice(0, 40), c] as const))('matches transformers for %j', (_, c) => {
    expect(tokenizer.encode(c.prompt)).toEqual(c.input_ids);
  });

  it('always yields maxLength ids framed by BOS and EOS', () => {
    const ids = tokenizer.encode('word '.repeat(200));
    expect(ids).toHaveLength(reference.max_length);
    expect(ids[0]).toBe(49406);
    expect(ids[76]).toBe(49407);
  });

  it('reads the legacy export the same way', async () => {
    const legacy = await ClipTokenizer.fromModelFolder(join(TINY_SD_LEGACY, 'tokenizer'));
    for (const c of reference.cases) expect(legacy.encode(c.prompt)).toEqual(c.input_ids);
  });

  it('names the missing token when a vocabulary lacks specials', () => {
    expect(() => new ClipTokenizer({ a: 1 }, '#version: 0.2\n')).toThrow(/no entry for "<\|startoftext\|>"/);
  });
});
