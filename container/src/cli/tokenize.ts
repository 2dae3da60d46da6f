/** npm run tokenize -- [--model DIR] --prompt TEXT: prints the 77 CLIP ids as a JSON array (the demo model's tokenizer by default). */
import { join } from 'node:path';
import { ClipTokenizer } from '../engine/tokenizer/clip-tokenizer';
import { parseArguments, requireString } from './arguments';
import { runCli } from './cli-errors';
import { DEMO_MODEL_DIR } from './default-model';

async function main(argv: string[]): Promise<void> {
  const args = parseArguments(argv, { model: { type: 'string' }, prompt: { type: 'string' }, help: { type: 'boolean' } });
  if (args.help) {
    process.stdout.write('Usage: npm run tokenize -- [--model DIR] --prompt TEXT   prints the CLIP input ids as a JSON array (default model: the bundled demo)\n');
    return;
  }
  const modelDir = args.model ?? DEMO_MODEL_DIR;
  if (args.prompt === undefined) requireString(args.prompt, '--prompt');
  const tokenizer = await ClipTokenizer.fromModelFolder(join(modelDir, 'tokenizer'));
  process.stdout.write(`${JSON.stringify(tokenizer.encode(args.prompt ?? ''))}\n`);
}

runCli('tokenize', main);
