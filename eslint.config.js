import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layout's import rules (README, "Architecture"): what each folder of src/ may import besides
 * itself. A wrong-way import fails `npm run lint`; test/unit/layout.test.ts checks the same table
 * (it imports it from here) over the whole graph (dynamic imports and circles included).
 */
export const LAYERS = {
  teredo: [],
  os: [],
  log: ['os'],
  config: ['teredo', 'log', 'version.js'],
  ipc: ['teredo', 'os', 'log', 'config'],
  bootstrap: ['teredo', 'os', 'log', 'config', 'ipc', 'version.js'],
  engine: ['teredo', 'os', 'log', 'config', 'ipc'],
  dataplane: ['teredo', 'os', 'log', 'config', 'ipc'],
  cli: ['bootstrap', 'config', 'ipc', 'version.js'],
};

function layerRule(folder, allowed) {
  const targets = allowed.map((name) => (name.endsWith('.js') ? `${name.replace('.', '\\.')}$` : `${name}/`));
  const outside = targets.length === 0 ? '^\\.\\./' : `^\\.\\./(?!${targets.join('|')})`;
  const what = allowed.length === 0 ? 'nothing outside itself' : `only ${allowed.join(', ')}`;
  const patterns = [{ regex: outside, message: `src/${folder} may import ${what} (README, Architecture).` }];
  // The protocol core is sans-I/O: no Node module, no package.
  if (folder === 'teredo')
    patterns.push({ regex: '^(?!\\./)', message: 'src/teredo imports only its own files.' });
  return { files: [`src/${folder}/**/*.ts`], rules: { 'no-restricted-imports': ['error', { patterns }] } };
}

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'build/', 'bin/'] },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  ...Object.entries(LAYERS).map(([folder, allowed]) => layerRule(folder, allowed)),
  {
    files: ['test/**/*.ts', 'scripts/**/*.ts', 'src/cli/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
