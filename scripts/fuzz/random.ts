/**
 * A small seeded generator, so that a fuzzing run is reproducible from its seed.
 */
export interface Random {
  /** Uniform in [0, 2^32). */
  u32(): number;
  /** Uniform integer in [0, bound). */
  below(bound: number): number;
  /** True with probability 1/n. */
  oneIn(n: number): boolean;
  pick<T>(items: readonly T[]): T;
}

export function createRandom(seed: number): Random {
  // sfc32 (Chris Doty-Humphrey's small fast counting generator), seeded through splitmix32.
  let state = seed >>> 0;
  const splitmix = (): number => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  let a = splitmix();
  let b = splitmix();
  let c = splitmix();
  let d = 1;
  const u32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  for (let i = 0; i < 12; i++) u32();
  const below = (bound: number): number => (bound <= 1 ? 0 : Math.floor((u32() / 0x1_0000_0000) * bound));
  return {
    u32,
    below,
    oneIn: (n) => below(n) === 0,
    pick<T>(items: readonly T[]): T {
      const item = items[below(items.length)];
      if (item === undefined) throw new RangeError('pick from an empty list');
      return item;
    },
  };
}
