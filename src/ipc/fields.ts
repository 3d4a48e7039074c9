/**
 * The zod building blocks of the messages between the processes and threads: bounded numbers,
 * descriptors, names and addresses (the settings' own, from src/config/settings-schema.ts, where
 * a message carries a setting). Every bound here is part of what the receivers check.
 */
import { z } from 'zod';
import { interfaceNameSchema, ipv4Schema, portSchema } from '../config/settings-schema.js';
import { MAX_DATAPLANE_WORKERS } from '../teredo/constants.js';
import { PORT_MAPPING_PROTOCOLS } from '../teredo/port-mapping.js';
import { isIPv6Value } from './ipv6-value.js';

export const uint32 = z.number().int().min(0).max(0xffff_ffff);
export const requestId = uint32;
export const pid = z.number().int().min(1).max(0x3fff_ffff);
/** Inherited descriptors arrive at 3 and above (0-2 are stdio). */
export const fd = z.number().int().min(3).max(0xf_ffff);
export const ifindex = z.number().int().min(1).max(0x7fff_ffff);
export const interfaceName = interfaceNameSchema.unwrap();
/** 32 hex digits or IPv6 text. */
export const ipv6 = z.string().max(64).refine(isIPv6Value, 'not an IPv6 address');
export const port = portSchema;
export const prefixLen = z.number().int().min(0).max(128);
export const reason = z.string().max(512);
/** Unprivileged ids only: the engine never runs as root or with the root group. */
export const unprivilegedId = z.number().int().min(1).max(0xffff_fffe);
/** Data-plane workers: a pool size, and an index in it. */
export const workerCount = z.number().int().min(0).max(MAX_DATAPLANE_WORKERS);
export const workerIndex = z
  .number()
  .int()
  .min(0)
  .max(MAX_DATAPLANE_WORKERS - 1);
/** TUN queues or UDP sockets, one per worker at most. */
export const fdList = z.array(fd).max(MAX_DATAPLANE_WORKERS);

/** A port mapping as the gateway granted it: what the client hook and `miredo-ctl status` show. */
export const portMappingGrant = z
  .object({
    protocol: z.enum(PORT_MAPPING_PROTOCOLS),
    externalAddress: ipv4Schema.nullable(),
    externalPort: z.number().int().min(1).max(65535),
    lifetime: uint32,
  })
  .strict();
