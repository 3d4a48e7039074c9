/**
 * Driving a UDP agent (udp-agent.ts) in a lab namespace: bind sockets, send datagrams, and wait
 * for what they receive. Every event the agent reports is kept, so a wait also sees events that
 * came before it was called.
 */
import type { ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { LabNamespace } from './namespace.js';
import { agentEventSchema, parseLine } from './udp-agent-protocol.js';
import type { AgentCommand, AgentEvent } from './udp-agent-protocol.js';

export type Received = Extract<AgentEvent, { event: 'received' }>;

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

const UDP_AGENT_PATH = fileURLToPath(new URL('./udp-agent.js', import.meta.url));

export class UdpAgent {
  readonly events: AgentEvent[] = [];
  private readonly emitter = new EventEmitter();
  private readonly child: ChildProcess;
  private exited = false;

  constructor(
    readonly node: string,
    namespace: LabNamespace,
  ) {
    this.child = namespace.spawn(process.execPath, [UDP_AGENT_PATH], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.child.on('exit', () => {
      this.exited = true;
      this.emitter.emit('event');
    });
    this.child.on('error', () => {
      this.exited = true;
      this.emitter.emit('event');
    });
    if (this.child.stdout !== null) {
      createInterface({ input: this.child.stdout }).on('line', (line) => {
        const event = parseLine(agentEventSchema, line);
        if (event === null) return;
        this.events.push(event);
        this.emitter.emit('event');
      });
    }
  }

  /** Binds socket `socket` to address:port (port 0: the kernel picks one); resolves with where it is bound. */
  async bind(socket: string, address = '0.0.0.0', port = 0): Promise<Endpoint> {
    const from = this.events.length;
    this.command({ op: 'bind', socket, address, port });
    const bound = await this.waitFor(
      (event) => event.event === 'bound' && event.socket === socket,
      5000,
      `${socket} bound`,
      from,
    );
    if (bound.event !== 'bound') throw new Error('unreachable');
    return { address: bound.address, port: bound.port };
  }

  /** Sends `data` from `socket`; resolves once the agent has handed it to the kernel. */
  async send(socket: string, to: Endpoint, data: string): Promise<void> {
    const from = this.events.length;
    this.command({ op: 'send', socket, host: to.address, port: to.port, data });
    await this.waitFor(
      (event) => event.event === 'sent' && event.socket === socket && event.data === data,
      5000,
      `${socket} to send ${data}`,
      from,
    );
  }

  /** Datagrams received so far whose payload is `data`. */
  receivedWith(data: string): Received[] {
    return this.events.filter(
      (event): event is Received => event.event === 'received' && event.data === data,
    );
  }

  /** The first datagram with payload `data`, past or future. */
  async receive(data: string, timeoutMs: number): Promise<Received> {
    const event = await this.waitFor(
      (candidate) => candidate.event === 'received' && candidate.data === data,
      timeoutMs,
      `a datagram "${data}"`,
    );
    if (event.event !== 'received') throw new Error('unreachable');
    return event;
  }

  /** The first event from index `from` on that matches; rejects at the deadline, on an error event or when the agent ends. */
  waitFor(
    match: (event: AgentEvent) => boolean,
    timeoutMs: number,
    what: string,
    from = 0,
  ): Promise<AgentEvent> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const events = this.events.slice(from);
        const found = events.find(match);
        const failed = events.find((event) => event.event === 'error');
        if (found === undefined && failed === undefined && !this.exited) return;
        clearTimeout(timer);
        this.emitter.off('event', check);
        if (found !== undefined) resolve(found);
        else if (failed?.event === 'error') reject(new Error(`${this.node}'s UDP agent: ${failed.message}`));
        else reject(new Error(`${this.node}'s UDP agent ended while waiting for ${what}`));
      };
      const timer = setTimeout(() => {
        this.emitter.off('event', check);
        reject(new Error(`${this.node}'s UDP agent: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.emitter.on('event', check);
      check();
    });
  }

  /** Closes its stdin: the agent closes its sockets and exits. */
  stop(): void {
    this.child.stdin?.end();
  }

  private command(command: AgentCommand): void {
    this.child.stdin?.write(`${JSON.stringify(command)}\n`);
  }
}
