import { Md5, MD5_BLOCK_BYTES, MD5_DIGEST_BYTES } from './md5.js';

export const HMAC_MD5_BYTES = MD5_DIGEST_BYTES;

/** HMAC-MD5 (RFC 2104) bound to one key, with the ipad/opad blocks absorbed once at creation. */
export interface HmacMd5 {
  /** Writes HMAC(key, message) (16 bytes) at `out[outOffset]` and returns `out`. */
  macInto(message: Uint8Array, out: Uint8Array, outOffset?: number): Uint8Array;
  /** Allocating convenience form of `macInto`. */
  mac(message: Uint8Array): Uint8Array;
}

const IPAD = 0x36;
const OPAD = 0x5c;

function padded(key: Uint8Array, pad: number): Uint8Array {
  const block = new Uint8Array(MD5_BLOCK_BYTES).fill(pad);
  for (let i = 0; i < key.length; i++) block[i] = key[i]! ^ pad;
  return block;
}

export function createHmacMd5(key: Uint8Array): HmacMd5 {
  let blockKey = key;
  if (key.length > MD5_BLOCK_BYTES) {
    blockKey = new Uint8Array(MD5_DIGEST_BYTES);
    new Md5().update(key).digestInto(blockKey);
  }
  const inner = new Md5().update(padded(blockKey, IPAD));
  const outer = new Md5().update(padded(blockKey, OPAD));
  const work = new Md5();
  const innerDigest = new Uint8Array(MD5_DIGEST_BYTES);

  const macInto = (message: Uint8Array, out: Uint8Array, outOffset = 0): Uint8Array => {
    work.copyFrom(inner).update(message).digestInto(innerDigest);
    work.copyFrom(outer).update(innerDigest).digestInto(out, outOffset);
    return out;
  };
  return {
    macInto,
    mac: (message) => macInto(message, new Uint8Array(HMAC_MD5_BYTES)),
  };
}
