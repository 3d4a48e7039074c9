import { teredoClientAt, teredoPortAt } from './address.js';

/**
 * The Teredo peers whose first direct bubble the client is holding back
 * (port-preserving-nat.ts), each with the time it goes out anyway. Fixed memory: at most
 * WITHHELD_BUBBLE_SLOTS peers, kept packed, searched linearly (an entry lives for a fraction
 * of a second, so the list stays short); nothing is allocated after creation.
 */

/** Room for this many peers contacted within one fallback delay; beyond it nothing is withheld. */
export const WITHHELD_BUBBLE_SLOTS = 64;

export interface WithheldBubbles {
  readonly size: number;
  /** Holds back the direct bubble to the Teredo address at bytes[offset..+16) until `dueMs`; false when full. */
  add(bytes: Uint8Array, offset: number, dueMs: number): boolean;
  /** Forgets the peer at bytes[offset..+16); whether it was held. */
  take(bytes: Uint8Array, offset: number): boolean;
  /**
   * Forgets the first peer whose address embeds the mapping (ipv4, port), calling `release` with
   * its address (valid during the call); whether there was one.
   */
  takeMapping(ipv4: number, port: number, release: (address: Uint8Array, offset: number) => void): boolean;
  /**
   * Forgets every peer due at `nowMs`, calling `release` with its address (valid during the
   * call), and returns the milliseconds until the next one is due, or -1 when none is left.
   */
  takeDue(nowMs: number, release: (address: Uint8Array, offset: number) => void): number;
  clear(): void;
}

export function createWithheldBubbles(slots = WITHHELD_BUBBLE_SLOTS): WithheldBubbles {
  const addresses = new Uint8Array(slots * 16);
  const due = new Float64Array(slots);
  const released = new Uint8Array(16);
  let size = 0;

  function indexOf(bytes: Uint8Array, offset: number): number {
    for (let index = 0; index < size; index++) {
      const at = index * 16;
      let same = true;
      for (let i = 0; i < 16 && same; i++) same = addresses[at + i] === bytes[offset + i];
      if (same) return index;
    }
    return -1;
  }

  /** Moves the last entry into `index`: order does not matter, deadlines are checked one by one. */
  function remove(index: number): void {
    size -= 1;
    if (index === size) return;
    addresses.copyWithin(index * 16, size * 16, size * 16 + 16);
    due[index] = due[size]!;
  }

  return {
    get size(): number {
      return size;
    },
    add(bytes, offset, dueMs): boolean {
      const existing = indexOf(bytes, offset);
      if (existing >= 0) {
        due[existing] = dueMs;
        return true;
      }
      if (size === slots) return false;
      addresses.set(bytes.subarray(offset, offset + 16), size * 16);
      due[size] = dueMs;
      size += 1;
      return true;
    },
    take(bytes, offset): boolean {
      const index = indexOf(bytes, offset);
      if (index < 0) return false;
      remove(index);
      return true;
    },
    takeMapping(ipv4, port, release): boolean {
      for (let index = 0; index < size; index++) {
        const at = index * 16;
        if (teredoClientAt(addresses, at) !== ipv4 >>> 0 || teredoPortAt(addresses, at) !== port) continue;
        released.set(addresses.subarray(at, at + 16));
        remove(index);
        release(released, 0);
        return true;
      }
      return false;
    },
    takeDue(nowMs, release): number {
      let next = -1;
      let index = 0;
      while (index < size) {
        const wait = due[index]! - nowMs;
        if (wait > 0) {
          next = next < 0 ? wait : Math.min(next, wait);
          index += 1;
          continue;
        }
        released.set(addresses.subarray(index * 16, index * 16 + 16));
        remove(index);
        release(released, 0);
      }
      return next;
    },
    clear(): void {
      size = 0;
    },
  };
}
