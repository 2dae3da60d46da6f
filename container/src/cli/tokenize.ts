/** npm run tokenize -- --model DIR --prompt TEXT: prints the 77 CLIP ids as a JSON array. */
import { join } from 'node:path';
import { ClipTokenizer } from '../engine/tokenizer/clip-tokenizer';
import { parseArguments, requireString } from './arguments';
import { runCli } from './cli-errors';

async function main(argv: string[]): Promise<void> {
  const args = parseArguments(argv, { model: { type: 'string' }, prompt: { type: 'string' }, help: { type: 'boolean' } });
  if (args.help) {
    process.stdout.write('Usage: npm run tokenize -- --model DIR --prompt TEXT   prints the CLIP input ids as a JSON array\n');
    return;
  }
  const modelDir = requireString(args.model, '--model');
  if (args.prompt === undefined) requireString(args.prompt, '--prompt');
  const tokenizer = await ClipTokenizer.fromModelFolder(join(modelDir, 'tokenizer'));
  process.stdout.write(`${JSON.stringify(tokenizer.encode(args.prompt ?? ''))}\n`);
}

runCli('tokenize', main);
