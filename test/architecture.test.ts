import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * The layering the codebase promises: who may import whom. Read from the sources' own import
 * statements, so a new file that breaks a rule fails here.
 */
const REPOSITORY = resolve(__dirname, '..');

function sourceFiles(folder: string): string[] {
  const absolute = join(REPOSITORY, folder);
  return readdirSync(absolute).flatMap((name) => {
    const path = join(absolute, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' || name === 'dist' ? [] : sourceFiles(relative(REPOSITORY, path));
    return /\.ts$/.test(name) ? [relative(REPOSITORY, path)] : [];
  });
}

/** Every module a file imports: repository-relative paths for our own, package names otherwise. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(REPOSITORY, file), 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^'";]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)|require\(\s*'([^']+)'\s*\)/g)].map(
    (match) => match[1] ?? match[2] ?? match[3],
  );
  return specifiers.map((specifier) =>
    specifier.startsWith('.') ? relative(REPOSITORY, resolve(dirname(join(REPOSITORY, file)), specifier)) : specifier,
  );
}

function violations(folder: string, forbidden: (target: string) => boolean): string[] {
  return sourceFiles(folder).flatMap((file) => importsOf(file).filter(forbidden).map((target) => `${file} → ${target}`));
}

const OUR_FOLDERS = ['bin', 'lib', 'lambda', 'contract', 'local', 'container', 'site', 'test'];
/** Resolved relative imports start with one of our folders; package names never contain a path to one. */
const ours = (target: string) => target.includes('/') && OUR_FOLDERS.includes(target.split('/')[0]) && !target.startsWith('@');

describe('architecture', () => {
  it('finds the imports it checks', () => {
    expect(importsOf('lambda/src/gateway.ts')).toEqual(expect.arrayContaining(['contract/routes', 'lambda/src/http/errors']));
  });

  it('contract/ imports nothing of ours', () => {
    expect(violations('contract', (target) => ours(target) && !target.startsWith('contract/'))).toEqual([]);
  });

  it('site/ imports only contract/ and itself', () => {
    expect(violations('site', (target) => ours(target) && !target.startsWith('contract/') && !target.startsWith('site/'))).toEqual([]);
  });

  it('lib/ and bin/ import no runtime module of the gateway or the engine', () => {
    const runtime = (target: string) => target.startsWith('lambda/src/') || target.startsWith('container/src/') || target.startsWith('local/');
    expect([...violations('lib', runtime), ...violations('bin', runtime)]).toEqual([]);
  });

  it("lambda/src/ imports neither the engine, its server, nor local mode", () => {
    expect(
      violations('lambda/src', (target) => target.startsWith('container/src/engine/') || target.startsWith('container/src/server/') || target.startsWith('local/')),
    ).toEqual([]);
  });

  it('the engine imports no AWS SDK or CDK', () => {
    expect(violations('container/src/engine', (target) => /^(@aws-sdk\/|aws-cdk-lib|constructs$|@aws-lambda-powertools\/)/.test(target))).toEqual([]);
  });

  it('the facts modules shared with the infrastructure are pure data', () => {
    expect(violations('lambda/facts', (target) => !target.startsWith('lambda/facts/'))).toEqual([]);
  });
});
