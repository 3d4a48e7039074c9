/**
 * Facts about the layout of src/, for test/unit/layout.test.ts and scripts/long-functions.ts:
 * each source file's lines and relative imports (static, type-only and dynamic), and every
 * function longer than a limit with the comment above it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

export interface SourceFile {
  /** Path from the repository root, with forward slashes (src/engine/engine.ts). */
  readonly path: string;
  readonly lines: number;
  /** Files of the repository this one imports, as paths from the root. */
  readonly imports: readonly string[];
}

export interface LongFunction {
  readonly path: string;
  readonly line: number;
  readonly name: string;
  readonly lines: number;
  /** The comments just above the function (or above the statement that holds it). */
  readonly comment: string;
}

const SOURCE = /\.(ts|cc|h)$/;

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? walk(path) : SOURCE.test(entry) ? [path] : [];
  });
}

function lineCount(text: string): number {
  return text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length;
}

function relativeImports(source: ts.SourceFile): string[] {
  const specifiers: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier !== undefined &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      specifiers.push(node.moduleSpecifier.text);
    } else if (
      ts.isCallExpression(node) &&
      node.expression.kind === ts.SyntaxKind.ImportKeyword &&
      node.arguments[0] !== undefined &&
      ts.isStringLiteral(node.arguments[0])
    ) {
      specifiers.push(node.arguments[0].text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return specifiers.filter((specifier) => specifier.startsWith('.'));
}

function parse(root: string, path: string): ts.SourceFile {
  return ts.createSourceFile(path, readFileSync(join(root, path), 'utf8'), ts.ScriptTarget.ES2022, true);
}

/** Every source file under `dir` (TypeScript, C++), relative to `root`. */
export function sourceFiles(root: string, dir = 'src'): SourceFile[] {
  return walk(join(root, dir)).map((absolute) => {
    const path = relative(root, absolute).split('\\').join('/');
    const text = readFileSync(absolute, 'utf8');
    const imports = path.endsWith('.ts')
      ? relativeImports(parse(root, path)).map((specifier) =>
          relative(root, resolve(dirname(absolute), specifier.replace(/\.js$/, '.ts')))
            .split('\\')
            .join('/'),
        )
      : [];
    return { path, lines: lineCount(text), imports };
  });
}

function functionName(node: ts.Node): string {
  if ((ts.isFunctionDeclaration(node) || ts.isMethodDeclaration(node)) && node.name !== undefined)
    return node.name.getText();
  if (ts.isConstructorDeclaration(node)) return 'constructor';
  const parent = node.parent;
  if (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))
    return parent.name.getText();
  return '(anonymous)';
}

/** The statement or member whose leading comments document `node`. */
function documented(node: ts.Node): ts.Node {
  let current: ts.Node = node;
  while (
    current.parent !== undefined &&
    !ts.isSourceFile(current.parent) &&
    !ts.isBlock(current.parent) &&
    !ts.isClassDeclaration(current.parent) &&
    !ts.isObjectLiteralExpression(current.parent)
  ) {
    current = current.parent;
  }
  return current;
}

/** Functions of the TypeScript files under `dir` longer than `limit` lines, signature included. */
export function longFunctions(root: string, limit: number, dir = 'src'): LongFunction[] {
  const found: LongFunction[] = [];
  for (const file of sourceFiles(root, dir)) {
    if (!file.path.endsWith('.ts')) continue;
    const source = parse(root, file.path);
    const text = source.getFullText();
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionLike(node) && 'body' in node && node.body !== undefined) {
        const start = source.getLineAndCharacterOfPosition(node.getStart()).line;
        const end = source.getLineAndCharacterOfPosition(node.getEnd()).line;
        if (end - start + 1 > limit) {
          const holder = documented(node);
          const comment = (ts.getLeadingCommentRanges(text, holder.getFullStart()) ?? [])
            .map((range) => text.slice(range.pos, range.end))
            .join('\n');
          found.push({
            path: file.path,
            line: start + 1,
            name: functionName(node),
            lines: end - start + 1,
            comment,
          });
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return found;
}
