import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { parseWith } from '../../../src/ipc/parse.js';

const schema = z
  .object({
    type: z.literal('init'),
    port: z.number().int().min(0).max(65535),
    nested: z.object({ name: z.string().max(8) }).strict(),
  })
  .strict();

test('a rare parse (no compiled fast path) accepts and refuses exactly what the default parse does', () => {
  const inputs: unknown[] = [
    { type: 'init', port: 3544, nested: { name: 'teredo' } },
    { type: 'init', port: 70000, nested: { name: 'teredo' } },
    { type: 'init', port: 3544, nested: { name: 'far too long' } },
    { type: 'init', port: 3544, nested: { name: 'teredo', extra: 1 } },
    { type: 'stop', port: 1.5 },
    null,
    'init',
  ];
  for (const input of inputs) {
    assert.deepEqual(parseWith(schema, input, true), parseWith(schema, input), JSON.stringify(input));
  }
  assert.equal(parseWith(schema, inputs[0], true).ok, true);
  assert.equal(parseWith(schema, inputs[3], true).ok, false);
});
