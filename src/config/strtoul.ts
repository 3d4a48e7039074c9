/**
 * Miredo reads its integers with strtoul(value, &end, 0) and accepts them when the whole
 * string was consumed and the result is at most 65535. Reproduced here, quirks included:
 * `0x` hex and leading-`0` octal (`010` is 8), an optional sign, and a minus that negates
 * modulo 2^64 (so `-18446744073709551615` is 1, as on 64-bit Linux).
 */

const ULONG_MODULUS = 1n << 64n;
const ULONG_MAX = ULONG_MODULUS - 1n;

export type StrtoulResult =
  | { readonly ok: true; readonly value: bigint }
  | { readonly ok: false; readonly reason: 'syntax' | 'overflow' };

const DIGITS: Readonly<Record<number, RegExp>> = { 8: /^[0-7]+/, 10: /^[0-9]+/, 16: /^[0-9a-fA-F]+/ };

/** strtoul with base 0 on a complete token: `syntax` unless every character is used. */
export function strtoulWhole(text: string): StrtoulResult {
  let rest = text;
  let negative = false;
  if (rest.startsWith('+') || rest.startsWith('-')) {
    negative = rest.startsWith('-');
    rest = rest.slice(1);
  }
  let base = 10;
  if (/^0[xX][0-9a-fA-F]/.test(rest)) {
    base = 16;
    rest = rest.slice(2);
  } else if (rest.startsWith('0')) {
    base = 8;
  }
  const digits = DIGITS[base]?.exec(rest)?.[0];
  if (digits === undefined || digits.length !== rest.length) return { ok: false, reason: 'syntax' };

  const literal = base === 16 ? `0x${digits}` : base === 8 ? `0o${digits}` : digits;
  const magnitude = BigInt(literal);
  if (magnitude > ULONG_MAX) return { ok: false, reason: 'overflow' };
  const value = negative ? (ULONG_MODULUS - magnitude) % ULONG_MODULUS : magnitude;
  return { ok: true, value };
}

export type Int16Result =
  { readonly ok: true; readonly value: number } | { readonly ok: false; readonly reason: 'syntax' | 'range' };

/** Miredo's `int16` directive type: strtoul base 0, whole string, at most 65535. */
export function parseInt16(text: string): Int16Result {
  const parsed = strtoulWhole(text);
  if (!parsed.ok) return { ok: false, reason: parsed.reason === 'syntax' ? 'syntax' : 'range' };
  if (parsed.value > 0xffffn) return { ok: false, reason: 'range' };
  return { ok: true, value: Number(parsed.value) };
}
