/** src/os/tun.ts against a real kernel, each scenario in its own network namespace. */
import assert from 'node:assert/strict';
import { closeFd } from '../../../src/os/fd.js';
import { setGroupsEmpty } from '../../../src/os/privileges.js';
import {
  addAddress6,
  addRoute6,
  delAddress6,
  delRoute6,
  getMtu,
  ifNameToIndex,
  openTun,
  setLinkUp,
  setMtu,
} from '../../../src/os/tun.js';
import type { TunDevice } from '../../../src/os/tun.js';
import { ipv6Bytes } from '../../support/inet.js';
import {
  addresses6,
  expectErrno,
  fdFlags,
  isOpen,
  link,
  O_CLOEXEC,
  O_NONBLOCK,
  routes6,
} from './os-tools.js';
import { netnsScenarios } from './netns-harness.js';

function closeTun(tun: TunDevice): void {
  for (const fd of tun.fds) closeFd(fd);
}

netnsScenarios(import.meta.url, {
  'openTun creates a named single-queue TUN without packet information': () => {
    const tun = openTun('mts0', 1);
    assert.equal(tun.name, 'mts0');
    assert.equal(tun.fds.length, 1);
    const [fd] = tun.fds;
    assert.ok(fd !== undefined);
    assert.equal(fdFlags(fd) & (O_NONBLOCK | O_CLOEXEC), O_NONBLOCK | O_CLOEXEC);
    const shown = link('mts0');
    assert.ok(shown !== undefined);
    assert.equal(shown.ifindex, tun.ifindex);
    assert.equal(ifNameToIndex('mts0'), tun.ifindex);
    assert.equal(shown.linkinfo?.info_kind, 'tun');
    assert.equal(shown.linkinfo?.info_data?.type, 'tun');
    assert.equal(shown.linkinfo?.info_data?.pi, false);
    assert.equal(shown.linkinfo?.info_data?.multi_queue, false);
    closeTun(tun);
    assert.equal(isOpen(fd), false);
    assert.equal(link('mts0'), undefined, 'the interface goes away with its last descriptor');
  },

  'openTun with a null name lets the kernel choose tun%d': () => {
    const tun = openTun(null, 1);
    assert.match(tun.name, /^tun\d+$/);
    assert.equal(link(tun.name)?.ifindex, tun.ifindex);
    closeTun(tun);
  },

  'openTun with 2 queues makes a multi-queue device that lives until both queues close': () => {
    const tun = openTun('mts1', 2);
    assert.equal(tun.fds.length, 2);
    assert.notEqual(tun.fds[0], tun.fds[1]);
    const info = link('mts1')?.linkinfo?.info_data;
    assert.equal(info?.multi_queue, true);
    assert.equal(info?.numqueues, 2);
    const [first, second] = tun.fds;
    assert.ok(first !== undefined && second !== undefined);
    closeFd(first);
    assert.equal(link('mts1')?.linkinfo?.info_data?.numqueues, 1);
    closeFd(second);
    assert.equal(link('mts1'), undefined);
  },

  'a second open of an interface in use is EBUSY with a hint': () => {
    const single = openTun('mts2', 1);
    const busy = expectErrno(() => openTun('mts2', 1), 'EBUSY');
    assert.equal(busy.syscall, 'ioctl(TUNSETIFF)');
    assert.match(busy.message, /another instance is running\?/);
    const multi = openTun('mts3', 2);
    expectErrno(() => openTun('mts3', 2), 'EBUSY');
    expectErrno(() => openTun('mts2', 2), 'EBUSY');
    assert.equal(link('mts3')?.linkinfo?.info_data?.numqueues, 2, 'the failed opens attached no queue');
    closeTun(single);
    closeTun(multi);
  },

  'invalid names and queue counts are refused': () => {
    const long = expectErrno(() => openTun('a'.repeat(16), 1), 'EINVAL');
    assert.match(long.message, /1 to 15 characters/);
    assert.equal(openTun('b'.repeat(15), 1).name, 'b'.repeat(15));
    assert.throws(() => openTun('mts4', 0), RangeError);
    assert.throws(() => openTun('mts4', 1.5), RangeError);
    expectErrno(() => ifNameToIndex('nonexistent0'), 'ENODEV');
  },

  'setMtu sets the MTU, getMtu reads it, and below 1280 is refused': () => {
    const tun = openTun('mts5', 1);
    setMtu('mts5', 1400);
    assert.equal(getMtu('mts5'), 1400);
    assert.equal(link('mts5')?.mtu, 1400);
    const low = expectErrno(() => setMtu('mts5', 1279), 'EINVAL');
    assert.match(low.message, /1279/);
    expectErrno(() => setMtu('mts5', 65536), 'EINVAL');
    assert.equal(getMtu('mts5'), 1400, 'a refused MTU leaves the interface unchanged');
    setMtu('mts5', 1280);
    assert.equal(getMtu('mts5'), 1280);
    const missing = expectErrno(() => setMtu('nonexistent0', 1280), 'ENODEV');
    assert.match(missing.message, /no such interface/);
    closeTun(tun);
  },

  'setLinkUp brings the link up as point-to-point NOARP without multicast, and down again': () => {
    const tun = openTun('mts6', 1);
    setLinkUp('mts6', true);
    const up = link('mts6')?.flags ?? [];
    assert.ok(up.includes('UP'), `flags ${up.join(',')}`);
    assert.ok(up.includes('NOARP'));
    assert.ok(!up.includes('MULTICAST'));
    assert.ok(!up.includes('BROADCAST'));
    setLinkUp('mts6', false);
    const down = link('mts6')?.flags ?? [];
    assert.ok(!down.includes('UP'), `flags ${down.join(',')}`);
    assert.ok(down.includes('NOARP'));
    closeTun(tun);
  },

  'addresses and routes are added, visible to ip, and deleted': () => {
    const tun = openTun('mts7', 1);
    setMtu('mts7', 1280);
    setLinkUp('mts7', true);
    const linkLocal = ipv6Bytes('fe80::ffff:ffff:ffff');
    const prefix = ipv6Bytes('2001::');
    const host = ipv6Bytes('2001:db8:5::7');

    addAddress6(tun.ifindex, linkLocal, 64);
    assert.ok(addresses6('mts7').some((a) => a.local === 'fe80::ffff:ffff:ffff' && a.prefixlen === 64));
    expectErrno(() => addAddress6(tun.ifindex, linkLocal, 64), 'EEXIST');

    addRoute6(tun.ifindex, prefix, 32, 1024);
    addRoute6(tun.ifindex, host, 128, 1029);
    const shown = routes6('mts7');
    assert.ok(
      shown.some((r) => r.dst === '2001::/32' && r.metric === 1024),
      JSON.stringify(shown),
    );
    assert.ok(
      shown.some((r) => r.dst === '2001:db8:5::7' && r.metric === 1029),
      JSON.stringify(shown),
    );
    expectErrno(() => addRoute6(tun.ifindex, prefix, 32, 1024), 'EEXIST');

    delRoute6(tun.ifindex, prefix, 32, 1024);
    delRoute6(tun.ifindex, host, 128, 1029);
    assert.ok(!routes6('mts7').some((r) => r.dst === '2001::/32' || r.dst === '2001:db8:5::7'));
    expectErrno(() => delRoute6(tun.ifindex, prefix, 32, 1024), 'ESRCH');

    delAddress6(tun.ifindex, linkLocal, 64);
    assert.ok(!addresses6('mts7').some((a) => a.local === 'fe80::ffff:ffff:ffff'));
    expectErrno(() => delAddress6(tun.ifindex, linkLocal, 64), 'EADDRNOTAVAIL');

    expectErrno(() => addAddress6(tun.ifindex + 1000, linkLocal, 64), 'ENODEV');
    assert.throws(() => addRoute6(tun.ifindex, prefix, 129, 1024), RangeError);
    assert.throws(() => addAddress6(tun.ifindex, new Uint8Array(4), 64), RangeError);
    closeTun(tun);
  },

  'without privileges the calls fail with EPERM and a hint': () => {
    const tun = openTun('mts8', 1);
    setGroupsEmpty();
    assert.ok(process.setgid !== undefined && process.setuid !== undefined);
    process.setgid(65534);
    process.setuid(65534);
    const open = expectErrno(() => openTun('mts9', 1), 'EPERM');
    assert.match(open.message, /needs root \/ CAP_NET_ADMIN/);
    expectErrno(() => setMtu('mts8', 1400), 'EPERM');
    expectErrno(() => setLinkUp('mts8', true), 'EPERM');
    expectErrno(() => addAddress6(tun.ifindex, ipv6Bytes('fe80::1'), 64), 'EPERM');
    expectErrno(() => addRoute6(tun.ifindex, ipv6Bytes('2001::'), 32, 1024), 'EPERM');
    assert.equal(getMtu('mts8'), 1500, 'reading needs no privilege');
  },
});
