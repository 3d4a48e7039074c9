/**
 * What the lab's UDP agent (udp-agent.ts, one process inside a namespace) and its controller
 * (udp-agent-client.ts) say to each other: one JSON object per line, commands on the agent's
 * stdin, events on its stdout, both checked against these schemas on arrival.
 */
import { z } from 'zod';

const port = z.number().int().min(0).max(0xffff);
const ipv4 = z.string().regex(/^\d{1,3}(\.\d{1,3}){3}$/);
/** Datagrams carry short ASCII texts (probe names), enough to tell them apart. */
const text = z.string().max(512);
const socketId = z.string().min(1).max(64);

export const agentCommandSchema = z.discriminatedUnion('op', [
  z.object({ op: z.literal('bind'), socket: socketId, address: ipv4, port }),
  z.object({ op: z.literal('send'), socket: socketId, host: ipv4, port, data: text }),
]);
export type AgentCommand = z.infer<typeof agentCommandSchema>;

export const agentEventSchema = z.discriminatedUnion('event', [
  z.object({ event: z.literal('bound'), socket: socketId, address: ipv4, port }),
  z.object({ event: z.literal('sent'), socket: socketId, host: ipv4, port, data: text }),
  z.object({ event: z.literal('received'), socket: socketId, from: ipv4, port, data: text }),
  z.object({ event: z.literal('error'), socket: socketId.nullable(), message: z.string() }),
]);
export type AgentEvent = z.infer<typeof agentEventSchema>;

/** The parsed line, or null when it is not JSON or not one of the schema's objects. */
export function parseLine<T>(schema: z.ZodType<T>, line: string): T | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  const parsed = schema.safeParse(value);
  return parsed.success ? parsed.data : null;
}
