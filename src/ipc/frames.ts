/**
 * The framing of the bootstrap ↔ engine channel, sans-I/O: bytes in, messages or a typed
 * violation out. A frame is a 4-byte big-endian payload length, then that many bytes of UTF-8
 * JSON. The length is checked against MAX_FRAME_BYTES before a byte of the payload is kept, so
 * a peer can make the reader hold at most one frame; after a violation the decoder takes nothing
 * more (the stream has lost its frame boundaries, and the peer is ended anyway).
 */

export const FRAME_HEADER_BYTES = 4;
/**
 * Largest payload, in bytes. The largest message the schemas accept is a `summary-report` with
 * 256 counters whose 64-character names are all escaped control characters (about 99 KiB; with
 * our real counter names about 22 KB), then an `init` with a 4096-character jail path (at most
 * about 25 KiB). 256 KiB is well above both, and a frame that size costs the reader 256 KiB of
 * memory and about a millisecond of JSON.parse.
 */
export const MAX_FRAME_BYTES = 256 * 1024;

export type FrameViolation =
  | { readonly kind: 'oversized-frame'; readonly length: number; readonly limit: number }
  | { readonly kind: 'empty-frame' }
  | { readonly kind: 'invalid-utf8' }
  | { readonly kind: 'invalid-json' };

export type FrameEvent =
  | { readonly kind: 'message'; readonly value: unknown }
  | { readonly kind: 'violation'; readonly violation: FrameViolation };

export interface FrameDecoder {
  /** Every message `chunk` completes, in order, then a violation if one was found (the last event). */
  push(chunk: Uint8Array): readonly FrameEvent[];
  /** Bytes held for the frame in progress (header included): never over FRAME_HEADER_BYTES + the limit. */
  readonly buffered: number;
  /** Whether a violation ended the decoder. */
  readonly failed: boolean;
}

export function describeFrameViolation(violation: FrameViolation): string {
  switch (violation.kind) {
    case 'oversized-frame':
      return `frame of ${violation.length} bytes (at most ${violation.limit})`;
    case 'empty-frame':
      return 'empty frame';
    case 'invalid-utf8':
      return 'frame is not UTF-8';
    case 'invalid-json':
      return 'frame is not JSON';
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function parsePayload(payload: Uint8Array): FrameEvent {
  let text: string;
  try {
    text = utf8.decode(payload);
  } catch {
    return { kind: 'violation', violation: { kind: 'invalid-utf8' } };
  }
  try {
    return { kind: 'message', value: JSON.parse(text) as unknown };
  } catch {
    return { kind: 'violation', violation: { kind: 'invalid-json' } };
  }
}

/** `maxBytes`: the largest payload accepted (the control socket's requests take far less). */
export function createFrameDecoder(maxBytes: number = MAX_FRAME_BYTES): FrameDecoder {
  const header = new Uint8Array(FRAME_HEADER_BYTES);
  let headerFill = 0;
  /** The payload being filled, once its header has been read and accepted. */
  let payload: Uint8Array | null = null;
  let payloadFill = 0;
  let failed = false;

  return {
    push(chunk: Uint8Array): readonly FrameEvent[] {
      const events: FrameEvent[] = [];
      let offset = 0;
      while (!failed && offset < chunk.length) {
        if (payload === null) {
          const take = Math.min(FRAME_HEADER_BYTES - headerFill, chunk.length - offset);
          header.set(chunk.subarray(offset, offset + take), headerFill);
          headerFill += take;
          offset += take;
          if (headerFill < FRAME_HEADER_BYTES) break;
          const length = new DataView(header.buffer).getUint32(0, false);
          headerFill = 0;
          if (length === 0 || length > maxBytes) {
            failed = true;
            events.push({
              kind: 'violation',
              violation:
                length === 0 ? { kind: 'empty-frame' } : { kind: 'oversized-frame', length, limit: maxBytes },
            });
            break;
          }
          payload = new Uint8Array(length);
          payloadFill = 0;
          continue;
        }
        const take = Math.min(payload.length - payloadFill, chunk.length - offset);
        payload.set(chunk.subarray(offset, offset + take), payloadFill);
        payloadFill += take;
        offset += take;
        if (payloadFill < payload.length) break;
        const event = parsePayload(payload);
        payload = null;
        events.push(event);
        if (event.kind === 'violation') failed = true;
      }
      return events;
    },
    get buffered(): number {
      return payload === null ? headerFill : FRAME_HEADER_BYTES + payloadFill;
    },
    get failed(): boolean {
      return failed;
    },
  };
}

/**
 * One frame holding `message`. Only our own messages are encoded, and their schemas bound them
 * far below the limit, so an oversized one is a programming error.
 */
export function encodeFrame(message: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(message), 'utf8');
  if (payload.length > MAX_FRAME_BYTES)
    throw new RangeError(`IPC message of ${payload.length} bytes exceeds ${MAX_FRAME_BYTES}`);
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}
