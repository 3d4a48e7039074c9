/**
 * The lab's NAT kinds without root: the netfilter rules each kind gets (nat-rules.ts), their
 * iptables-restore form, the plan's refusal of hairpinning where ports are not kept, and the
 * classification of probe observations (nat-probe.ts) that the root test (nat-kinds.test.ts)
 * applies to the real NATs.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  classifyNat,
  iptablesRestoreInput,
  NAT_KINDS,
  natRules,
  planLab,
  SEQUENTIAL_PORT_BASE,
  SEQUENTIAL_PORTS,
} from '../../../scripts/lab/index.js';
import type { NatKind, NatNode, NatObservation } from '../../../scripts/lab/index.js';

function natNode(kind: NatKind, hairpin = false): NatNode {
  const node = planLab(
    { nats: [{ name: 'nat1', kind, hairpin, clients: ['alice', 'bob'] }] },
    'id',
  ).nodes.get('nat1');
  assert.ok(node?.role === 'nat');
  return node;
}

const rulesText = (kind: NatKind, hairpin = false): string[] =>
  natRules(natNode(kind, hairpin)).map((rule) => rule.join(' '));

const MASQUERADE = '-t nat -A POSTROUTING -o wan0 -j MASQUERADE';
const DROP_NEW_INBOUND = '-A INPUT -i wan0 -p udp -m conntrack --ctstate NEW -j DROP';
const FORWARD_ALICE =
  '-t nat -A PREROUTING -i wan0 -p udp --dport 20000:20099 -j DNAT --to-destination 10.1.0.2';
const FORWARD_BOB =
  '-t nat -A PREROUTING -i wan0 -p udp --dport 20100:20199 -j DNAT --to-destination 10.1.0.3';

describe('NAT rules', () => {
  it('port-restricted cone: MASQUERADE plus a drop of NEW inbound UDP on the WAN side', () => {
    assert.deepEqual(rulesText('cone'), [MASQUERADE, DROP_NEW_INBOUND]);
  });

  it("full cone: each client's port range forwarded to it", () => {
    assert.deepEqual(rulesText('full-cone'), [MASQUERADE, FORWARD_ALICE, FORWARD_BOB, DROP_NEW_INBOUND]);
  });

  it('address-restricted cone: forwarded only from addresses the client sent to', () => {
    assert.deepEqual(rulesText('address-restricted'), [
      MASQUERADE,
      FORWARD_ALICE,
      FORWARD_BOB,
      '-A FORWARD -o wan0 -s 10.1.0.2 -p udp -m recent --name contacted-0 --rdest --set',
      '-A FORWARD -o wan0 -s 10.1.0.3 -p udp -m recent --name contacted-1 --rdest --set',
      '-A FORWARD -i wan0 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT',
      '-A FORWARD -i wan0 -d 10.1.0.2 -p udp -m recent --name contacted-0 --rsource --rcheck -j ACCEPT',
      '-A FORWARD -i wan0 -d 10.1.0.3 -p udp -m recent --name contacted-1 --rsource --rcheck -j ACCEPT',
      '-A FORWARD -i wan0 -p udp -j DROP',
      DROP_NEW_INBOUND,
    ]);
  });

  it('port-preserving symmetric: MASQUERADE alone, its port-unreachable answers dropped', () => {
    assert.deepEqual(rulesText('port-preserving-symmetric'), [
      MASQUERADE,
      '-A OUTPUT -o wan0 -p icmp --icmp-type port-unreachable -j DROP',
    ]);
  });

  it('symmetric: MASQUERADE with fully random ports, no inbound drop', () => {
    assert.deepEqual(rulesText('symmetric'), [`${MASQUERADE} --random-fully`]);
  });

  it('sequential symmetric: SNAT rules taking turns, flow k of a turn to port BASE + k', () => {
    const rules = rulesText('sequential-symmetric');
    assert.equal(rules.length, SEQUENTIAL_PORTS + 2);
    const snat = (every: number, port: number): string =>
      `-t nat -A POSTROUTING -o wan0 -p udp -m statistic --mode nth --every ${every} --packet 0 ` +
      `-j SNAT --to-source 198.51.100.10:${port}`;
    assert.equal(rules[0], snat(SEQUENTIAL_PORTS, SEQUENTIAL_PORT_BASE));
    assert.equal(rules[1], snat(SEQUENTIAL_PORTS - 1, SEQUENTIAL_PORT_BASE + 1));
    assert.equal(rules[SEQUENTIAL_PORTS - 1], snat(1, SEQUENTIAL_PORT_BASE + SEQUENTIAL_PORTS - 1));
    assert.deepEqual(rules.slice(SEQUENTIAL_PORTS), [MASQUERADE, DROP_NEW_INBOUND]);
  });

  it("hairpinning: the LAN reaches a client's public port, from the sender's public mapping", () => {
    assert.deepEqual(rulesText('cone', true), [
      MASQUERADE,
      DROP_NEW_INBOUND,
      FORWARD_ALICE.replace('-i wan0', '-i lan0 -d 198.51.100.10'),
      FORWARD_BOB.replace('-i wan0', '-i lan0 -d 198.51.100.10'),
      '-t nat -A POSTROUTING -o lan0 -s 10.1.0.0/24 -d 10.1.0.0/24 -m conntrack --ctstate DNAT ' +
        '-j SNAT --to-source 198.51.100.10',
    ]);
  });

  it('hairpinning is refused where the NAT does not keep the ports', () => {
    for (const kind of ['symmetric', 'sequential-symmetric'] as const) {
      assert.throws(() => natNode(kind, true), /hairpinning needs a NAT that keeps the clients' ports/);
    }
  });

  it('iptables-restore input: one block per table, in first-use order', () => {
    assert.equal(
      iptablesRestoreInput(natRules(natNode('cone'))),
      `*nat\n-A POSTROUTING -o wan0 -j MASQUERADE\nCOMMIT\n*filter\n${DROP_NEW_INBOUND}\nCOMMIT\n`,
    );
  });

  it('every kind has rules', () => {
    for (const kind of NAT_KINDS) assert.ok(natRules(natNode(kind)).length > 0, kind);
  });
});

const at = (port: number, address = '198.51.100.10'): { address: string; port: number } => ({
  address,
  port,
});

function observation(ports: readonly number[], toStranger: number, filtering: 0 | 1 | 2): NatObservation {
  return {
    localPort: 20005,
    mappings: ports.map((port) => at(port)),
    mappingToStranger: at(toStranger),
    fromContactedAddress: filtering >= 1,
    fromStranger: filtering === 2,
  };
}

describe('NAT classification from probe observations', () => {
  it('one mapping everywhere, the stranger included: endpoint-independent', () => {
    assert.deepEqual(classifyNat(observation([20005, 20005, 20005, 20005, 20005], 20005, 2)), {
      mapping: 'endpoint-independent',
      filtering: 'endpoint-independent',
    });
  });

  it("the client's port for fresh destinations, another one towards a stranger that sent first: port-preserving", () => {
    assert.deepEqual(classifyNat(observation([20005, 20005, 20005, 20005, 20005], 20006, 0)), {
      mapping: 'port-preserving',
      filtering: 'address-and-port-dependent',
    });
  });

  it('consecutive ports: sequential; all different: random', () => {
    assert.equal(
      classifyNat(observation([40000, 40001, 40002, 40003, 40004], 40005, 0)).mapping,
      'sequential',
    );
    assert.equal(classifyNat(observation([51234, 60001, 33210, 41000, 52000], 45000, 0)).mapping, 'random');
  });

  it('filtering by address only when a contacted address gets through on another port', () => {
    assert.equal(
      classifyNat(observation([20005, 20005, 20005, 20005, 20005], 20005, 1)).filtering,
      'address-dependent',
    );
  });

  it('anything else is inconsistent', () => {
    assert.equal(
      classifyNat(observation([20005, 20005, 30000, 20005, 20005], 20005, 0)).mapping,
      'inconsistent',
    );
    assert.equal(
      classifyNat({ ...observation([20005, 20005, 20005, 20005, 20005], 20005, 0), fromStranger: true })
        .filtering,
      'inconsistent',
    );
    assert.equal(
      classifyNat({
        ...observation([20005, 20005, 20005, 20005, 20005], 20005, 0),
        mappingToStranger: at(20005, '198.51.100.11'),
      }).mapping,
      'inconsistent',
    );
  });
});
