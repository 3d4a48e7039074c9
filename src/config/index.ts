/** Configuration files: parsing (pure), reading, name resolution. */
export { DiagnosticSchema, formatDiagnostic, isFault } from './diagnostic.js';
export type { ConfigOrigins, ConfigResult, Diagnostic } from './diagnostic.js';
export { MIREDO_DEFAULTS, MiredoConfigSchema, parseMiredoConf } from './miredo-conf.js';
export type { MiredoConfig, MiredoConfOptions } from './miredo-conf.js';
export { SERVER_DEFAULTS, ServerConfigSchema, parseServerConf } from './server-conf.js';
export type { ServerConfig, ServerConfOptions } from './server-conf.js';
export { readMiredoConfFile, readServerConfFile } from './read-conf-file.js';
export { resolveIPv4 } from './resolve.js';
export type { ResolveResult } from './resolve.js';
export {
  DEFAULT_SYSLOG_FACILITY,
  SYSLOG_FACILITIES,
  SYSLOG_FACILITY_CODES,
  SyslogFacilitySchema,
} from '../log/syslog-facility.js';
export type { SyslogFacility } from '../log/syslog-facility.js';
export { DEFAULT_TEREDO_PREFIX, IFNAMSIZ, IPV6_MIN_MTU, RELAY_TYPES, RelayTypeSchema } from './values.js';
export type { RelayType } from './values.js';
