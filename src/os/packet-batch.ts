/**
 * A PacketBatch: `count` fixed slots of `slotSize` bytes in ONE caller-owned buffer (an
 * ArrayBuffer, or a SharedArrayBuffer to share it with other threads), with per-slot metadata
 * views over the same buffer. Layout, from byte 0:
 *
 *   data            count × slotSize bytes (slot i at i × slotSize), padded to 4 bytes
 *   lengths         Uint32 × count   packet length in slot i
 *   addresses       Uint32 × count   IPv4 peer as a number (198.51.100.1 → 0xc6336401)
 *   localAddresses  Uint32 × count   IPv4 the datagram was sent to (IP_PKTINFO; receive only)
 *   ports           Uint16 × count   UDP peer port
 *
 * The batch functions in packet-io.ts read and write these views in place: no allocation per
 * packet. Another thread rebuilds the same views with packetBatchOver(buffer, count, slotSize).
 */
export interface PacketBatch {
  readonly count: number;
  readonly slotSize: number;
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  readonly data: Uint8Array;
  readonly lengths: Uint32Array;
  readonly addresses: Uint32Array;
  readonly localAddresses: Uint32Array;
  readonly ports: Uint16Array;
}

export const MAX_BATCH_SLOTS = 65536;
/** The addon's limit; a TUN slot should hold the interface MTU, a UDP slot the largest datagram wanted. */
export const MAX_SLOT_SIZE = 1 << 20;

function checkShape(count: number, slotSize: number): void {
  if (!Number.isInteger(count) || count < 1 || count > MAX_BATCH_SLOTS) {
    throw new RangeError(`batch slot count must be an integer from 1 to ${MAX_BATCH_SLOTS}, not ${count}`);
  }
  if (!Number.isInteger(slotSize) || slotSize < 1 || slotSize > MAX_SLOT_SIZE) {
    throw new RangeError(`slot size must be an integer from 1 to ${MAX_SLOT_SIZE}, not ${slotSize}`);
  }
}

function dataBytes(count: number, slotSize: number): number {
  return Math.ceil((count * slotSize) / 4) * 4;
}

/** The buffer size a batch of this shape needs. */
export function packetBatchByteLength(count: number, slotSize: number): number {
  checkShape(count, slotSize);
  return dataBytes(count, slotSize) + count * (4 + 4 + 4 + 2);
}

/**
 * Views over an existing buffer (at least packetBatchByteLength bytes from `byteOffset`, a
 * multiple of 4: two batches may share one buffer, one after the other).
 */
export function packetBatchOver(
  buffer: ArrayBuffer | SharedArrayBuffer,
  count: number,
  slotSize: number,
  byteOffset = 0,
): PacketBatch {
  const needed = packetBatchByteLength(count, slotSize);
  if (byteOffset % 4 !== 0 || byteOffset < 0 || buffer.byteLength - byteOffset < needed) {
    throw new RangeError(
      `a batch of ${count} × ${slotSize} bytes needs ${needed} bytes at a multiple of 4, not ${buffer.byteLength} from ${byteOffset}`,
    );
  }
  let offset = byteOffset + dataBytes(count, slotSize);
  const lengths = new Uint32Array(buffer, offset, count);
  offset += 4 * count;
  const addresses = new Uint32Array(buffer, offset, count);
  offset += 4 * count;
  const localAddresses = new Uint32Array(buffer, offset, count);
  offset += 4 * count;
  const ports = new Uint16Array(buffer, offset, count);
  const data = new Uint8Array(buffer, byteOffset, count * slotSize);
  return { count, slotSize, buffer, data, lengths, addresses, localAddresses, ports };
}

/** A zeroed batch in a new ArrayBuffer, or a SharedArrayBuffer when `shared`. */
export function createPacketBatch(
  count: number,
  slotSize: number,
  options: { shared?: boolean } = {},
): PacketBatch {
  const size = packetBatchByteLength(count, slotSize);
  const buffer = options.shared === true ? new SharedArrayBuffer(size) : new ArrayBuffer(size);
  return packetBatchOver(buffer, count, slotSize);
}

/** Byte offset of slot `index` in batch.data. */
export function slotOffset(batch: PacketBatch, index: number): number {
  return index * batch.slotSize;
}

/** A view of the packet in slot `index` (allocates a view: for tests and slow paths). */
export function slotPacket(batch: PacketBatch, index: number): Uint8Array {
  const length = batch.lengths[index];
  if (length === undefined) throw new RangeError(`slot ${index} outside a batch of ${batch.count}`);
  return batch.data.subarray(index * batch.slotSize, index * batch.slotSize + length);
}
