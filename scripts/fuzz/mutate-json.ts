/**
 * Mutations of JSON messages: mostly structural (a field deleted, retyped, given a hostile or
 * boundary value, an extra field), sometimes textual, so both the schemas and JSON.parse are hit.
 */
import { HOSTILE_WORDS } from './mutate-text.js';
import type { Random } from './random.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const NUMBERS = [
  0,
  -1,
  1,
  3,
  4,
  31,
  32,
  63,
  64,
  127,
  128,
  255,
  1023,
  1024,
  1028,
  1029,
  1279,
  1280,
  65535,
  65536,
  2 ** 31,
  2 ** 32,
  -(2 ** 31),
  1.5,
  Number.MAX_SAFE_INTEGER,
];
const ADDRESSES = [
  '2001:0::1',
  '2001::',
  '2001:0:c633:6401::1',
  '2a00:1450:c000:201::1',
  '2a00:1450:c633:6401::1',
  'fe80::ffff:ffff:ffff',
  'fe80::8000:5445:5245:444f',
  'fe80::1',
  'ff02::1',
  '::',
  '::1',
  '2001:db8::1',
  '20010000000000000000000000000001',
  '::ffff:192.0.2.1',
  '3ffe:831f::1',
];

function hostileValue(random: Random): Json {
  switch (random.below(6)) {
    case 0:
      return random.pick(NUMBERS);
    case 1:
      return random.pick(ADDRESSES);
    case 2:
      return random.pick(HOSTILE_WORDS);
    case 3:
      return random.oneIn(2);
    case 4:
      return random.oneIn(2) ? null : [];
    default:
      return {};
  }
}

function mutateValue(value: Json, random: Random, depth: number): Json {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && depth < 4) {
    const keys = Object.keys(value);
    const copy: { [key: string]: Json } = { ...value };
    const key = keys.length > 0 ? random.pick(keys) : 'x';
    switch (random.below(4)) {
      case 0:
        delete copy[key];
        break;
      case 1:
        copy[random.pick([...HOSTILE_WORDS, 'type', 'id', 'extra'])] = hostileValue(random);
        break;
      default:
        copy[key] = mutateValue(copy[key] ?? null, random, depth + 1);
    }
    return copy;
  }
  // Mostly a value of the same kind, near the boundaries the schemas and the policy draw.
  if (typeof value === 'number' && !random.oneIn(4))
    return random.oneIn(2) ? random.pick(NUMBERS) : value + random.pick([-1, 1, 256, -256, 2 ** 32]);
  if (typeof value === 'string' && value.includes(':') && !random.oneIn(4)) return random.pick(ADDRESSES);
  return hostileValue(random);
}

export function mutateJson(seed: string, random: Random): string {
  if (random.oneIn(5)) {
    const at = random.below(seed.length + 1);
    return (
      seed.slice(0, at) +
      random.pick(['"', '}', '{', ',', '\\', '\u0000', '1e999', '']) +
      seed.slice(at + random.below(3))
    );
  }
  let value: Json;
  try {
    value = JSON.parse(seed) as Json;
  } catch {
    return seed;
  }
  const rounds = 1 + random.below(3);
  for (let i = 0; i < rounds; i++) value = mutateValue(value, random, 0);
  return JSON.stringify(value);
}
