import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  HOSTS_TTL_SECONDS,
  MAX_TTL_SECONDS,
  MIN_TTL_SECONDS,
  resolveServerName,
} from '../../../src/bootstrap/server-name-resolver.js';
import type { ResolverSystem } from '../../../src/bootstrap/server-name-resolver.js';
import { hostsFileNames } from '../../../src/config/hosts-file.js';

function system(parts: Partial<ResolverSystem>, asked: string[] = []): ResolverSystem {
  return {
    readHosts: () => Promise.resolve(''),
    resolve4: (name) => {
      asked.push(`dns ${name}`);
      return Promise.reject(Object.assign(new Error('queryA ENOTFOUND'), { code: 'ENOTFOUND' }));
    },
    lookupAll: (name) => {
      asked.push(`getaddrinfo ${name}`);
      return Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));
    },
    ...parts,
  };
}

test('hosts(5): names after the address, comments and case ignored', () => {
  const names = hostsFileNames(
    '127.0.0.1 localhost\n# 192.0.2.9 hidden\n192.0.2.1\tTeredo.Lab. alias # c\n\n',
  );
  assert.deepEqual([...names].sort(), ['alias', 'localhost', 'teredo.lab']);
});

test('a DNS name: every address, the smallest TTL, clamped', async () => {
  const answer = await resolveServerName(
    'teredo.example',
    system({
      resolve4: () =>
        Promise.resolve([
          { address: '192.0.2.1', ttl: 120 },
          { address: '192.0.2.2', ttl: 60 },
          { address: '192.0.2.1', ttl: 120 },
        ]),
    }),
  );
  assert.deepEqual(answer, { ok: true, addresses: ['192.0.2.1', '192.0.2.2'], ttlSeconds: 60 });
  const zero = await resolveServerName(
    't.example',
    system({ resolve4: () => Promise.resolve([{ address: '192.0.2.1', ttl: 0 }]) }),
  );
  assert.ok(zero.ok && zero.ttlSeconds === MIN_TTL_SECONDS);
  const long = await resolveServerName(
    't.example',
    system({ resolve4: () => Promise.resolve([{ address: '192.0.2.1', ttl: 9e9 }]) }),
  );
  assert.ok(long.ok && long.ttlSeconds === MAX_TTL_SECONDS);
});

test('a name in /etc/hosts is looked up with getaddrinfo, never asked of DNS, and held the default TTL', async () => {
  const asked: string[] = [];
  const answer = await resolveServerName(
    'teredo.lab',
    system(
      {
        readHosts: () => Promise.resolve('192.0.2.7 teredo.lab\n'),
        lookupAll: (name) => {
          asked.push(`getaddrinfo ${name}`);
          return Promise.resolve(['192.0.2.7']);
        },
      },
      asked,
    ),
  );
  assert.deepEqual(answer, { ok: true, addresses: ['192.0.2.7'], ttlSeconds: HOSTS_TTL_SECONDS });
  assert.deepEqual(asked, ['getaddrinfo teredo.lab']);
});

test("not in DNS: getaddrinfo is the last word, with Miredo's reason", async () => {
  const asked: string[] = [];
  const answer = await resolveServerName('nowhere.example', system({}, asked));
  assert.deepEqual(answer, { ok: false, code: 'ENOTFOUND', message: 'host not found' });
  assert.deepEqual(asked, ['dns nowhere.example', 'getaddrinfo nowhere.example']);
});

test('a dotted quad is its own answer', async () => {
  const asked: string[] = [];
  assert.deepEqual(await resolveServerName('192.0.2.1', system({}, asked)), {
    ok: true,
    addresses: ['192.0.2.1'],
    ttlSeconds: MAX_TTL_SECONDS,
  });
  assert.deepEqual(asked, []);
});
