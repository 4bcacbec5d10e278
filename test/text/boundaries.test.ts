import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/** The modules a source file imports, statically or dynamically. */
function importsOf(path: string): string[] {
  const source = readFileSync(path, 'utf8');
  return [...source.matchAll(/(?:from\s+|import\s*\(\s*)'([^']+)'/g)].map((match) => match[1]!);
}

function sourcesIn(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(dir, name));
}

describe('where text comes from', () => {
  it('keeps the command line and the catalogue free of bot modules', () => {
    const files = ['src/cli.ts', ...sourcesIn('src/cli'), ...sourcesIn('src/text')];
    const botImports = files.flatMap((file) =>
      importsOf(file)
        .filter((specifier) => /(^|\/)bots\//.test(specifier))
        .map((specifier) => `${file} imports ${specifier}`),
    );
    expect(files.length).toBeGreaterThan(10);
    expect(botImports).toEqual([]);
  });
});
