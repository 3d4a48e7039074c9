/** The real kernel calls (src/os/, the native addon) behind the bootstrap's OsApi. */
import { unlinkSync } from 'node:fs';
import { closeFd } from '../os/fd.js';
import { openTcpListener, openUnixListener } from '../os/listeners.js';
import { lookupGroup } from '../os/posix.js';
import type { ControlSocketOps } from './control-socket.js';
import { openRaw6 } from '../os/raw.js';
import { addAddress6, addRoute6, delAddress6, delRoute6, openTun, setLinkUp, setMtu } from '../os/tun.js';
import { localLinkTowards } from '../os/local-link.js';
import { addTableRoute6, delTableRoute6 } from '../os/route-table.js';
import { localPort, openMulticast4, openUdp4, setMulticastSend } from '../os/udp.js';
import type { OsApi } from './os-api.js';
import { tunOffloadOptions } from './tun-offload-env.js';

export const SYSTEM_OS: OsApi = {
  openTun: (name, queues) => openTun(name, queues, tunOffloadOptions(process.env)),
  setMtu,
  setLinkUp,
  addAddress6,
  delAddress6,
  addRoute6,
  delRoute6,
  openUdp4,
  localPort,
  localLinkTowards,
  openMulticast4,
  setMulticastSend,
  openRaw6,
  setTableRoute6: (route, present) => (present ? addTableRoute6(route) : delTableRoute6(route)),
  openTcpListener,
  closeFd,
};

export const SYSTEM_CONTROL_SOCKET: ControlSocketOps = {
  openUnixListener,
  lookupGroup,
  setegid: (gid) => process.setegid?.(gid),
  getegid: () => process.getegid?.() ?? 0,
  unlink: unlinkSync,
  umask: (mask) => process.umask(mask),
  closeFd,
};
