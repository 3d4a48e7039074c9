/**
 * A UDP endpoint that a test drives from another network namespace: started with
 * `ip netns exec NS node udp-peer.js` and MTS_UDP_PEER=<address>:<port> in its environment,
 * it binds there, prints {"ready":port}, sends each JSON line {"to","port","hex"} read from
 * stdin and prints every datagram it receives as {"from","port","hex"}. Without the variable
 * (the test runner loads every file under test/) it does nothing.
 */
import { createSocket } from 'node:dgram';
import { createInterface } from 'node:readline';

export const UDP_PEER_VARIABLE = 'MTS_UDP_PEER';

export interface PeerCommand {
  readonly to: string;
  readonly port: number;
  readonly hex: string;
}

export interface PeerDatagram {
  readonly from: string;
  readonly port: number;
  readonly hex: string;
}

function runPeer(spec: string): void {
  const [address = '', portText = '0'] = spec.split(':');
  const socket = createSocket('udp4');
  const print = (record: object): void => {
    process.stdout.write(`${JSON.stringify(record)}\n`);
  };
  socket.on('message', (message, remote) => {
    print({ from: remote.address, port: remote.port, hex: message.toString('hex') });
  });
  socket.on('error', (error) => {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  });
  socket.bind(Number(portText), address, () => {
    print({ ready: socket.address().port });
    const lines = createInterface({ input: process.stdin });
    lines.on('line', (line) => {
      const command = JSON.parse(line) as PeerCommand;
      socket.send(Buffer.from(command.hex, 'hex'), command.port, command.to);
    });
    lines.on('close', () => socket.close());
  });
}

const spec = process.env[UDP_PEER_VARIABLE];
if (spec !== undefined) runPeer(spec);
