/**
 * The benchmark's side of a traffic agent (bench-relay-agent.ts) running in a lab namespace:
 * starts it, sends one command at a time and resolves with its JSON answer.
 */
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { Lab } from './lab/index.js';

const AGENT_SCRIPT = fileURLToPath(new URL('./bench-relay-agent.js', import.meta.url));

const answerSchema = z.union([
  z.object({
    ok: z.literal(true),
    sent: z.number(),
    failed: z.number(),
    seconds: z.number(),
  }),
  z.object({ ok: z.literal(true), ready: z.literal(true) }),
  z.object({ ok: z.literal(false), error: z.string() }),
]);

export interface SendReport {
  readonly sent: number;
  readonly failed: number;
  readonly seconds: number;
}

export type AgentCommand =
  | { readonly op: 'bubbles' }
  | { readonly op: 'prime' }
  | { readonly op: 'blast'; readonly rate: number; readonly seconds: number };

export class AgentHandle {
  private readonly answers: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  private closed = false;
  private stderr = '';

  private constructor(
    readonly node: string,
    private readonly child: ChildProcess,
  ) {
    const stdout = child.stdout;
    if (stdout === null) throw new Error('the agent needs a stdout pipe');
    createInterface({ input: stdout }).on('line', (line) => this.deliver(line));
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
    child.on('exit', () => {
      this.closed = true;
      this.deliver(null);
    });
  }

  /** Starts the agent in `node`'s namespace and waits until it is ready. */
  static async start(
    lab: Lab,
    node: string,
    role: 'client' | 'host',
    plan: Readonly<Record<string, unknown>>,
  ): Promise<AgentHandle> {
    const child = lab.spawn(
      node,
      process.execPath,
      [AGENT_SCRIPT, '--role', role, '--plan', JSON.stringify(plan)],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    const agent = new AgentHandle(node, child);
    await agent.next(10_000);
    return agent;
  }

  async send(command: AgentCommand): Promise<SendReport> {
    if (this.child.stdin === null || this.closed) throw new Error(`the ${this.node} agent is gone`);
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
    const timeoutMs = command.op === 'blast' ? command.seconds * 1000 + 15_000 : 10_000;
    const answer = await this.next(timeoutMs);
    if (!('sent' in answer)) throw new Error(`the ${this.node} agent answered ${JSON.stringify(answer)}`);
    return answer;
  }

  async stop(): Promise<void> {
    if (this.closed) return;
    this.child.stdin?.end(`${JSON.stringify({ op: 'quit' })}\n`);
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }

  private deliver(line: string | null): void {
    if (line !== null) this.answers.push(line);
    const waiting = this.waiting;
    if (waiting === null) return;
    const next = this.answers.shift() ?? null;
    if (next === null && !this.closed) return;
    this.waiting = null;
    waiting(next);
  }

  private async next(timeoutMs: number): Promise<z.infer<typeof answerSchema>> {
    const line = await new Promise<string | null>((resolve, reject) => {
      const queued = this.answers.shift();
      if (queued !== undefined || this.closed) {
        resolve(queued ?? null);
        return;
      }
      const timer = setTimeout(() => {
        this.waiting = null;
        reject(new Error(`the ${this.node} agent did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = (value) => {
        clearTimeout(timer);
        resolve(value);
      };
    });
    if (line === null) throw new Error(`the ${this.node} agent exited: ${this.stderr.trim()}`);
    const answer = answerSchema.parse(JSON.parse(line));
    if (!answer.ok) throw new Error(`the ${this.node} agent failed: ${answer.error}`);
    return answer;
  }
}
