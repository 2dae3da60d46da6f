/**
 * CLIP's byte-level BPE, driven by a model's `tokenizer/vocab.json` and `merges.txt`, reproducing
 * Hugging Face `CLIPTokenizerFast` (the `tokenizers` backend). Written here rather than taken from
 * transformers.js because that library wants a `tokenizer.json` (SD exports ship only vocab + merges)
 * and brings its own onnxruntime build; the algorithm is ~100 lines and is checked against
 * transformers' ids in the tests.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const START_OF_TEXT = '<|startoftext|>';
const END_OF_TEXT = '<|endoftext|>';
const END_OF_WORD = '</w>';

/** CLIP's pre-tokenizer split, from `tokenizer.json` of openai/clip-vit-large-patch14. */
const WORD_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+/gu;
const SPECIAL_PATTERN = /<\|startoftext\|>|<\|endoftext\|>/g;

export interface ClipTokenizerOptions {
  /** Total ids per sequence, BOS and EOS included. @default 77 (or tokenizer_config.json's model_max_length) */
  readonly maxLength?: number;
}

export class ClipTokenizer {
  static async fromModelFolder(tokenizerDir: string): Promise<ClipTokenizer> {
    const [vocabText, mergesText, configText] = await Promise.all([
      readFile(join(tokenizerDir, 'vocab.json'), 'utf8'),
      readFile(join(tokenizerDir, 'merges.txt'), 'utf8'),
      readFile(join(tokenizerDir, 'tokenizer_config.json'), 'utf8').catch(() => '{}'),
    ]);
    const vocab = parseJson<Record<string, number>>(vocabText, join(tokenizerDir, 'vocab.json'));
    const config = parseJson<{ model_max_length?: number }>(configText, join(tokenizerDir, 'tokenizer_config.json'));
    const maxLength = config.model_max_length && config.model_max_length <= 1024 ? config.model_max_length : 77;
    return new ClipTokenizer(vocab, mergesText, { maxLength });
  }

  readonly maxLength: number;
  readonly bosId: number;
  readonly eosId: number;
  /** Padding uses `<|endoftext|>`, as SD's tokenizer config does. */
  readonly padId: number;
  private readonly mergeRanks = new Map<string, number>();
  private readonly byteEncoder = bytesToUnicode();
  private readonly cache = new Map<string, number[]>();

  constructor(
    private readonly vocab: Readonly<Record<string, number>>,
    merges: string,
    options: ClipTokenizerOptions = {},
  ) {
    this.maxLength = options.maxLength ?? 77;
    this.bosId = this.requireId(START_OF_TEXT);
    this.eosId = this.requireId(END_OF_TEXT);
    this.padId = this.eosId;
    const lines = merges.split('\n');
    // The first line of merges.txt is a `#version` header.
    for (let i = lines[0]?.startsWith('#') ? 1 : 0, rank = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      if (line) this.mergeRanks.set(line, rank++);
    }
  }

  /** Token ids of `text` without BOS/EOS, not truncated. */
  encodeText(text: string): number[] {
    const ids: number[] = [];
    // Special tokens written in the text stay special, as `tokenizers` matches added tokens first.
    let last = 0;
    for (const match of text.matchAll(SPECIAL_PATTERN)) {
      this.encodeOrdinary(text.slice(last, match.index), ids);
      ids.push(match[0] === START_OF_TEXT ? this.bosId : this.eosId);
      last = match.index! + match[0].length;
    }
    this.encodeOrdinary(text.slice(last), ids);
    return ids;
  }

  /** Exactly `maxLength` ids: BOS, up to maxLength-2 tokens, EOS, then padding. */
  encode(text: string): number[] {
    const body = this.encodeText(text).slice(0, this.maxLength - 2);
    const ids = [this.bosId, ...body, this.eosId];
    while (ids.length < this.maxLength) ids.push(this.padId);
    return ids;
  }

  private encodeOrdinary(text: string, ids: number[]): void {
    // CLIP's normalizer: NFC, whitespace runs to one space, lowercase.
    const normalized = text.normalize('NFC').replace(/\s+/g, ' ').toLowerCase();
    for (const match of normalized.matchAll(WORD_PATTERN)) {
      for (const id of this.encodeWord(match[0])) ids.push(id);
    }
  }

  private encodeWord(word: string): number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const symbols = Array.from(Buffer.from(word, 'utf8'), (byte) => this.byteEncoder[byte]);
    symbols[symbols.length - 1] += END_OF_WORD;
    const merged = this.applyMerges(symbols);
    const ids = merged.map((symbol) => this.requireId(symbol));
    if (this.cache.size < 10_000) this.cache.set(word, ids);
    return ids;
  }

  /** Repeatedly merges the adjacent pair with the lowest rank, as in the BPE paper (Sennrich 2016). */
  private applyMerges(symbols: string[]): string[] {
    while (symbols.length > 1) {
      let bestRank = Infinity;
      let bestIndex = -1;
      for (let i = 0; i < symbols.length - 1; i++) {
        const rank = this.mergeRanks.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          bestIndex = i;
        }
      }
      if (bestIndex < 0) break;
      const first = symbols[bestIndex];
      const second = symbols[bestIndex + 1];
      const next: string[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i < symbols.length - 1 && symbols[i] === first && symbols[i + 1] === second) {
          next.push(first + second);
          i++;
        } else {
          next.push(symbols[i]);
        }
      }
      symbols = next;
    }
    return symbols;
  }

  private requireId(token: string): number {
    const id = this.vocab[token];
    if (id === undefined) throw new Error(`tokenizer vocab.json has no entry for ${JSON.stringify(token)}`);
    return id;
  }
}

/** GPT-2's reversible map from bytes to printable unicode characters, used by CLIP's vocab. */
function bytesToUnicode(): string[] {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const table: string[] = new Array(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = printable.includes(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  }
  return table;
}

function parseJson<T>(text: string, file: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new Error(`${file} is not valid JSON: ${(error as Error).message}`);
  }
}
