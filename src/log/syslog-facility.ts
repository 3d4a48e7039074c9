/** The syslog facilities Miredo's SyslogFacility accepts (case-insensitive), with their codes. */
import { z } from 'zod';

export const SYSLOG_FACILITIES = [
  'auth',
  'authpriv',
  'cron',
  'daemon',
  'ftp',
  'kern',
  'local0',
  'local1',
  'local2',
  'local3',
  'local4',
  'local5',
  'local6',
  'local7',
  'lpr',
  'mail',
  'news',
  'syslog',
  'user',
  'uucp',
] as const;

export const SyslogFacilitySchema = z.enum(SYSLOG_FACILITIES);
export type SyslogFacility = z.infer<typeof SyslogFacilitySchema>;

export const DEFAULT_SYSLOG_FACILITY: SyslogFacility = 'daemon';

/** Facility numbers on Linux (`LOG_DAEMON` is `3 << 3`). */
export const SYSLOG_FACILITY_CODES: Readonly<Record<SyslogFacility, number>> = {
  kern: 0,
  user: 1,
  mail: 2,
  daemon: 3,
  auth: 4,
  syslog: 5,
  lpr: 6,
  news: 7,
  uucp: 8,
  cron: 9,
  authpriv: 10,
  ftp: 11,
  local0: 16,
  local1: 17,
  local2: 18,
  local3: 19,
  local4: 20,
  local5: 21,
  local6: 22,
  local7: 23,
};
