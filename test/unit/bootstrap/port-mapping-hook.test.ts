/**
 * The port mapping on the NAT as the client hook and miredo-ctl see it: PORT_MAPPING_* in the
 * hook's environment only when up with a mapping, carried through the policy unchanged, refused
 * at the boundary when malformed; `miredo-ctl status` prints it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createClientHook } from '../../../src/bootstrap/client-hook.js';
import { decideHelperRequest } from '../../../src/bootstrap/helper-policy.js';
import { parseEngineToBootstrap } from '../../../src/ipc/bootstrap-engine-messages.js';
import type { HookPortMapping } from '../../../src/ipc/bootstrap-engine-messages.js';
import { formatStatus } from '../../../src/cli/ctl-format.js';
import { formatIPv6 } from '../../../src/teredo/ipv6-text.js';
import { captureLog } from '../../support/fakes.js';
import { CLIENT_ADDRESS, SERVER_IPV4 } from '../../support/tunnel-harness.js';

const MAPPING: HookPortMapping = {
  protocol: 'pcp',
  externalAddress: '11.0.0.10',
  externalPort: 20001,
  lifetime: 120,
};

describe('port mapping: client hook and miredo-ctl', () => {
  it('PORT_MAPPING_* are given with an up state that has a mapping, and only then', async () => {
    const runs: Array<Readonly<Record<string, string>>> = [];
    const hook = createClientHook({
      path: '/hook',
      ifname: 'teredo',
      ifindex: 9,
      log: captureLog().log,
      probe: () => Promise.resolve(true),
      runner: (_path, env) => {
        runs.push(env);
        return Promise.resolve({ code: 0, output: '' });
      },
    });
    await hook.report('up', CLIENT_ADDRESS, 1280, MAPPING);
    await hook.report('up', CLIENT_ADDRESS, 1280, null);
    await hook.report('down', null, 1280, MAPPING);
    const mapped = Object.fromEntries(
      Object.entries(runs[0] ?? {}).filter(([name]) => name.startsWith('PORT_MAPPING_')),
    );
    assert.deepEqual(mapped, {
      PORT_MAPPING_PROTOCOL: 'pcp',
      PORT_MAPPING_ADDRESS: '11.0.0.10',
      PORT_MAPPING_PORT: '20001',
      PORT_MAPPING_LIFETIME: '120',
    });
    for (const env of runs.slice(1))
      assert.equal(Object.keys(env).filter((name) => name.startsWith('PORT_')).length, 0);
  });

  it('the engine’s report crosses the boundary checked, and the policy hands it on as it is', () => {
    const request = {
      type: 'client-state',
      id: 1,
      ifindex: 9,
      state: 'up',
      address: formatIPv6(CLIENT_ADDRESS),
      mtu: 1280,
      portMapping: MAPPING,
    };
    const parsed = parseEngineToBootstrap(request);
    assert.ok(parsed.ok);
    if (!parsed.ok || parsed.message.type !== 'client-state') return;
    const decision = decideHelperRequest(parsed.message, {
      ifindex: 9,
      prefix: 0x20010000,
      serverIPv4: SERVER_IPV4,
    });
    assert.ok(decision.accept && decision.action.kind === 'client-state');
    if (decision.accept && decision.action.kind === 'client-state')
      assert.deepEqual(decision.action.portMapping, MAPPING);
    for (const bad of [
      { ...MAPPING, externalPort: 0 },
      { ...MAPPING, protocol: 'igd' },
      { ...MAPPING, externalAddress: 'evil;rm -rf /' },
      { ...MAPPING, extra: 1 },
    ]) {
      assert.equal(parseEngineToBootstrap({ ...request, portMapping: bad }).ok, false, JSON.stringify(bad));
    }
  });

  it('miredo-ctl status prints the mapping and whether the NAT is now cone', () => {
    const text = formatStatus({
      role: 'client',
      enginePid: 10,
      uptimeSeconds: 5,
      workers: 1,
      interface: 'teredo',
      address: null,
      qualified: true,
      natType: 'cone-port-preserving',
      mapping: '11.0.0.10:20001',
      qualificationSeconds: 0.5,
      qualifiedForSeconds: 4,
      mtu: 1280,
      prefix: '2001::/32',
      servers: [],
      peerTable: null,
      nativePeers: null,
      portMapping: { ...MAPPING, internalPort: 20001, expiresInSeconds: 60, cone: true },
    });
    assert.match(
      text,
      /^Port map: {5}pcp 11\.0\.0\.10:20001, lifetime 120 s \(renewed before 60 s\), NAT now cone \(RFC 6081\)$/m,
    );
  });
});
