/**
 * Lists the functions of src/ longer than 80 lines (or the limit given): `node
 * dist/scripts/long-functions.js [LIMIT]`. test/unit/layout.test.ts requires each one to say why
 * in its comment.
 */
import { fileURLToPath } from 'node:url';
import { longFunctions } from './source-layout.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const limit = Number(process.argv[2] ?? 80);
for (const found of longFunctions(ROOT, limit).sort((a, b) => b.lines - a.lines)) {
  console.log(`${String(found.lines).padStart(4)}  ${found.path}:${found.line}  ${found.name}`);
}
