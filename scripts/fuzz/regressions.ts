/** Where findings are kept as regression files, one directory per target, named by content hash. */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** test/fuzz-regressions in the source tree (this file runs from dist/scripts/fuzz/). */
export const REGRESSION_DIR = fileURLToPath(new URL('../../../test/fuzz-regressions/', import.meta.url));

export function saveRegression(dir: string, target: string, extension: string, input: Uint8Array): string {
  const name = `${createHash('sha256').update(input).digest('hex').slice(0, 16)}.${extension}`;
  mkdirSync(join(dir, target), { recursive: true });
  const path = join(dir, target, name);
  writeFileSync(path, input);
  return path;
}

/** Every regression file of `target`: its name and bytes. */
export function loadRegressions(
  dir: string,
  target: string,
  extension: string,
): Array<{ readonly file: string; readonly bytes: Uint8Array }> {
  const targetDir = join(dir, target);
  if (!existsSync(targetDir)) return [];
  return readdirSync(targetDir)
    .filter((file) => file.endsWith(`.${extension}`))
    .sort()
    .map((file) => ({ file, bytes: readFileSync(join(targetDir, file)) }));
}
