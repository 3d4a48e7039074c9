/**
 * The client's qualification machine (src/teredo/qualification.ts) on mutated server answers.
 * Most inputs get the nonce of the Router Solicitation in flight written into their auth header,
 * so that mutations reach the checks behind the nonce. Invariants: nothing throws; actions are
 * well formed; the address it brings up is a Teredo address of the configured server.
 */
import { WIRE_SIZE } from '../../../src/teredo/constants.js';
import { createQualification } from '../../../src/teredo/qualification.js';
import type { Qualification, QualificationAction } from '../../../src/teredo/qualification.js';
import { createSecurityContext } from '../../../src/teredo/security.js';
import { mutateBytes } from '../mutate-bytes.js';
import { SERVER_IPV4, sourceOf, tunnelDatagrams } from '../seeds.js';
import { BYTES_CODEC, invariant } from '../target.js';
import type { FuzzTarget } from '../target.js';

const KEY = Uint8Array.from({ length: 16 }, (_, i) => 255 - i);
const NONCE_OFFSET = 4;
const NONCE_BYTES = WIRE_SIZE.nonce;

function check(actions: readonly QualificationAction[]): string {
  let kinds = '';
  for (const action of actions) {
    kinds += action.kind[0];
    switch (action.kind) {
      case 'send':
        invariant(action.datagram.length > 0 && action.datagram.length <= 1280, 'RS size');
        invariant(action.ipv4 === SERVER_IPV4 && action.port === 3544, 'RSs go to the server');
        break;
      case 'up': {
        invariant(action.address.length === 16, 'a 16-byte address');
        const server =
          ((action.address[4]! << 24) |
            (action.address[5]! << 16) |
            (action.address[6]! << 8) |
            action.address[7]!) >>>
          0;
        invariant(server === SERVER_IPV4, 'the address embeds our server');
        invariant(action.mtu >= 1280 && action.mtu <= 65535, `MTU ${action.mtu}`);
        break;
      }
      case 'down':
        invariant(action.previous.length === 16, 'down names the address');
        break;
      case 'log':
        invariant(action.message.length > 0, 'a log message');
        break;
    }
  }
  return kinds;
}

export function qualificationTarget(): FuzzTarget<Uint8Array> {
  let machine: Qualification;
  let nowMs = 0;
  let nonce = new Uint8Array(NONCE_BYTES);
  const remember = (actions: readonly QualificationAction[]): readonly QualificationAction[] => {
    for (const action of actions)
      if (action.kind === 'send') nonce = action.datagram.slice(NONCE_OFFSET, NONCE_OFFSET + NONCE_BYTES);
    return actions;
  };
  const fresh = (): void => {
    machine = createQualification({
      security: createSecurityContext(KEY, 77),
      serverIPv4: SERVER_IPV4,
      randomFlagBits: () => 0x1234,
    });
    nowMs = 10_000;
    remember(machine.start(nowMs));
  };
  fresh();
  return {
    name: 'qualification',
    codec: BYTES_CODEC,
    seeds: () => tunnelDatagrams().slice(0, 3),
    mutate: (seed, random, corpus) => mutateBytes(seed, random, corpus),
    reset: fresh,
    run(input): string {
      const { ipv4, port, offset } = sourceOf(input);
      const datagram = input.slice(offset);
      // Most inputs answer the solicitation in flight (the nonce is the server's echo of ours).
      if (
        (input[0] ?? 0) % 4 !== 0 &&
        datagram.length >= NONCE_OFFSET + NONCE_BYTES &&
        datagram[0] === 0 &&
        datagram[1] === 1 &&
        datagram[2] === 0 &&
        datagram[3] === 0
      )
        datagram.set(nonce, NONCE_OFFSET);
      nowMs += (input.length % 5) * 700;
      let outcome = '';
      if (nowMs >= machine.nextDeadlineMs()) outcome += `T${check(remember(machine.timer(nowMs)))}`;
      const actions = machine.offer(datagram, 0, datagram.length, ipv4, port, nowMs);
      outcome += actions === null ? 'pass' : `O${check(remember(actions))}`;
      const state = machine.state;
      invariant(state.up === (state.address !== null), 'up exactly when it has an address');
      return `${outcome}:${state.up ? 1 : 0}`;
    },
  };
}
