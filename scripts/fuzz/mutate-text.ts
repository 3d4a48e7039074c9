/**
 * Mutations of text inputs (configuration files) and of argument vectors, with a dictionary of
 * the words the parsers know and of names that break naive lookups.
 */
import type { Random } from './random.js';

/** Words that reach lookups through an object's prototype, and other troublemakers. */
export const HOSTILE_WORDS: readonly string[] = [
  'constructor',
  '__proto__',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  '__defineGetter__',
  '',
  '\u0000',
  '-',
  '--',
  '=',
  '#',
  '0x',
  '0',
  '-1',
  '4294967296',
  '99999999999999999999',
  'NaN',
  'Infinity',
  '1e3',
  ' ',
  '\t',
  '\r',
  '\u00e9',
  '\ud800',
  'x'.repeat(300),
];

/** Mutated files stay this short, so the corpus does not drift toward ever slower inputs. */
export const MAX_LINES = 200;

export function mutateLines(seed: string, random: Random, dictionary: readonly string[]): string {
  const lines = seed.split('\n');
  const words = [...dictionary, ...HOSTILE_WORDS];
  const rounds = 1 + random.below(6);
  for (let round = 0; round < rounds; round++) {
    const i = random.below(lines.length + 1);
    switch (random.below(7)) {
      case 0:
        lines.splice(i, 0, `${random.pick(words)} ${random.pick(words)}`);
        break;
      case 1:
        lines.splice(i, 1);
        break;
      case 2: {
        const tokens = (lines[i] ?? '').split(/(\s+)/);
        tokens[random.below(tokens.length)] = random.pick(words);
        lines[i] = tokens.join('');
        break;
      }
      case 3:
        lines.splice(i, 0, lines[random.below(lines.length)] ?? '');
        break;
      case 4: {
        const line = lines[i] ?? '';
        const cut = random.below(line.length + 1);
        lines[i] = line.slice(0, cut) + String.fromCharCode(random.below(0x80)) + line.slice(cut);
        break;
      }
      case 5:
        lines[i] = random.pick(words);
        break;
      default: {
        const count = random.below(64);
        for (let k = 0; k < count; k++) lines.splice(i, 0, `${random.pick(words)} ${random.pick(words)}`);
      }
    }
  }
  return lines.slice(0, MAX_LINES).join(random.oneIn(8) ? '\r\n' : '\n');
}

export function mutateArgv(seed: readonly string[], random: Random, dictionary: readonly string[]): string[] {
  const args = [...seed];
  const words = [...dictionary, ...HOSTILE_WORDS];
  const rounds = 1 + random.below(4);
  for (let round = 0; round < rounds; round++) {
    const i = random.below(args.length + 1);
    switch (random.below(4)) {
      case 0:
        args.splice(i, 0, random.pick(words));
        break;
      case 1:
        args.splice(i, 1);
        break;
      case 2:
        args[i] = `${random.pick(words)}${random.pick(words)}`;
        break;
      default:
        args[i] = `--${random.pick(words)}=${random.pick(words)}`;
    }
  }
  return args.filter((arg): arg is string => typeof arg === 'string');
}
