/**
 * A UDP endpoint for the lab's NAT probes, run by the controller (udp-agent-client.ts) inside a
 * namespace with `node udp-agent.js`: it binds sockets and sends datagrams when told to on stdin
 * and reports, on stdout, every datagram each socket receives with its source address and port.
 * It ends when stdin closes.
 */
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { agentCommandSchema, parseLine } from './udp-agent-protocol.js';
import type { AgentCommand, AgentEvent } from './udp-agent-protocol.js';

const sockets = new Map<string, Socket>();

function emit(event: AgentEvent): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function bind(command: Extract<AgentCommand, { op: 'bind' }>): void {
  if (sockets.has(command.socket)) {
    emit({ event: 'error', socket: command.socket, message: 'socket name already used' });
    return;
  }
  const socket = createSocket('udp4');
  sockets.set(command.socket, socket);
  socket.on('error', (error) => emit({ event: 'error', socket: command.socket, message: error.message }));
  socket.on('message', (data, remote) =>
    emit({
      event: 'received',
      socket: command.socket,
      from: remote.address,
      port: remote.port,
      data: data.toString('latin1').slice(0, 512),
    }),
  );
  socket.bind(command.port, command.address, () => {
    const local = socket.address();
    emit({ event: 'bound', socket: command.socket, address: local.address, port: local.port });
  });
}

function send(command: Extract<AgentCommand, { op: 'send' }>): void {
  const socket = sockets.get(command.socket);
  if (socket === undefined) {
    emit({ event: 'error', socket: command.socket, message: 'no such socket' });
    return;
  }
  socket.send(Buffer.from(command.data, 'latin1'), command.port, command.host, (error) => {
    if (error) emit({ event: 'error', socket: command.socket, message: error.message });
    else
      emit({
        event: 'sent',
        socket: command.socket,
        host: command.host,
        port: command.port,
        data: command.data,
      });
  });
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const command = parseLine(agentCommandSchema, line);
  if (command === null) emit({ event: 'error', socket: null, message: `bad command: ${line.slice(0, 200)}` });
  else if (command.op === 'bind') bind(command);
  else send(command);
});
lines.on('close', () => {
  for (const socket of sockets.values()) socket.close();
});
