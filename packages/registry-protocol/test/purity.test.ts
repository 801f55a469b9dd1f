/**
 * registry-protocol is pure: no Node built-ins, no Buffer, no process, no I/O. The sources
 * are read with the TypeScript parser, so comments and strings cannot hide or fake a use.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const SRC = join(dirname(fileURLToPath(import.meta.url)), '..', 'src');
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const FORBIDDEN_GLOBALS = new Set(['Buffer', 'process', 'require', 'module', '__dirname', '__filename', 'global', 'setImmediate', 'fetch', 'XMLHttpRequest', 'WebSocket']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.[cm]?[tj]sx?$/.test(entry) ? [path] : [];
  });
}

interface Findings {
  specifiers: string[];
  identifiers: string[];
  dynamicImports: number;
}

function scan(file: string): Findings {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: Findings = { specifiers: [], identifiers: [], dynamicImports: 0 };
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      found.specifiers.push(node.moduleSpecifier.text);
    }
    if (ts.isImportEqualsDeclaration(node)) found.dynamicImports++;
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) found.dynamicImports++;
    if (ts.isImportTypeNode(node)) found.dynamicImports++;
    if (ts.isIdentifier(node) && FORBIDDEN_GLOBALS.has(node.text)) found.identifiers.push(node.text);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return found;
}

const files = sourceFiles(SRC);

describe('purity of src/', () => {
  it('finds the sources', () => {
    expect(files.length).toBeGreaterThanOrEqual(12);
    expect(files.map((f) => relative(SRC, f))).toContain('index.ts');
  });

  it.each(files.map((f) => [relative(SRC, f), f]))('%s imports only sibling modules, never a Node built-in', (_rel, file) => {
    const { specifiers, dynamicImports } = scan(file);
    expect(dynamicImports).toBe(0);
    for (const spec of specifiers) {
      expect(BUILTINS.has(spec), spec).toBe(false);
      expect(spec.startsWith('node:'), spec).toBe(false);
      expect(spec, 'relative import with a .js extension').toMatch(/^\.\.?\/[\w./-]+\.js$/);
    }
  });

  it.each(files.map((f) => [relative(SRC, f), f]))('%s uses no Buffer, process or other host globals', (_rel, file) => {
    expect(scan(file).identifiers).toEqual([]);
  });

  it.each(files.map((f) => [relative(SRC, f), f]))('%s has no any, ts-ignore, default export or export *', (_rel, file) => {
    const text = readFileSync(file, 'utf8');
    expect(text).not.toMatch(/@ts-(ignore|nocheck|expect-error)/);
    expect(text).not.toMatch(/:\s*any\b|as any\b|<any>/);
    expect(text).not.toMatch(/export\s+default\b/);
    expect(text).not.toMatch(/export\s+\*/);
  });

  it('the scanner itself notices a forbidden import and a Buffer use', () => {
    const probe = ts.createSourceFile('p.ts', "import { x } from 'node:fs';\nconst b = Buffer.from('a'); // process\n", ts.ScriptTarget.Latest, true);
    const names: string[] = [];
    const specs: string[] = [];
    const visit = (n: ts.Node): void => {
      if (ts.isImportDeclaration(n) && ts.isStringLiteral(n.moduleSpecifier)) specs.push(n.moduleSpecifier.text);
      if (ts.isIdentifier(n) && FORBIDDEN_GLOBALS.has(n.text)) names.push(n.text);
      ts.forEachChild(n, visit);
    };
    visit(probe);
    expect(specs).toEqual(['node:fs']);
    expect(names).toEqual(['Buffer']);
  });
});
