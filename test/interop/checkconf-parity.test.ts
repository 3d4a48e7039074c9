/**
 * Debian's miredo-checkconf (Miredo 1.2.6) and ours must give every file of the corpus the
 * same verdict (exit status 0 or 255), except for the deliberate differences listed below.
 * Ours must also name FILE:LINE in every message, and the lines listed in a file's
 * `# expect-lines:` comment exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { CORPUS_DIR, miredoSkip, runMiredo, runOurs } from './checkconf-tools.js';

interface IntentionalDifference {
  readonly miredo: number;
  readonly ours: number;
  readonly reason: string;
}

/** Where we judge differently from Miredo 1.2.6 on purpose. */
const INTENTIONAL_DIFFERENCES: Readonly<Record<string, IntentionalDifference>> = {
  'last-line-without-newline.conf': {
    miredo: 255,
    ours: 0,
    reason: 'Miredo skips a last line without newline as "overly long"; it is a normal line',
  },
  'prefix-multicast-ff00.conf': {
    miredo: 0,
    ours: 255,
    reason: "Miredo's multicast test reads the prefix in the wrong byte order and misses ff00::/8",
  },
  'prefix-2001-00ff.conf': {
    miredo: 255,
    ours: 0,
    reason: 'the same byte-order bug makes Miredo refuse 2001:ff::, whose fourth byte is ff',
  },
  'prefix-zone-index.conf': {
    miredo: 0,
    ours: 255,
    reason: 'getaddrinfo accepts a zone index (2001::%1), which means nothing in a /32 prefix',
  },
  'relay-mtu-below-1280.conf': {
    miredo: 0,
    ours: 255,
    reason: "an MTU below 1280 passes Miredo's checkconf, then the relay fails to create its tunnel",
  },
  'interface-name-16-chars.conf': {
    miredo: 0,
    ours: 255,
    reason: 'Miredo 1.2.6 does not check the length; 16 characters exceed IFNAMSIZ and tunnel creation fails',
  },
  'interface-name-slash.conf': {
    miredo: 0,
    ours: 255,
    reason: 'the kernel refuses interface names with "/" (or ":", ".", ".."); Miredo fails at run time',
  },
  'value-too-long-zeros.conf': {
    miredo: 0,
    ours: 255,
    reason: 'Miredo silently truncates values to 1023 characters (here leaving a valid 0); we refuse them',
  },
};

const FILES = readdirSync(CORPUS_DIR)
  .filter((name) => name.endsWith('.conf'))
  .sort();

function expectedLines(name: string): number[] | undefined {
  const text = readFileSync(`${CORPUS_DIR}/${name}`, 'latin1');
  const match = /^# expect-lines:([ 0-9]+)$/m.exec(text);
  return match?.[1]?.trim().split(/ +/).map(Number);
}

test('the corpus is large enough and the difference table names only corpus files', () => {
  assert.ok(FILES.length >= 30, `only ${FILES.length} files`);
  for (const name of Object.keys(INTENTIONAL_DIFFERENCES)) assert.ok(FILES.includes(name), name);
});

for (const name of FILES) {
  test(`same verdict as Miredo: ${name}`, { skip: miredoSkip() }, async () => {
    const [miredo, ours] = await Promise.all([runMiredo([name]), runOurs([name])]);
    const difference = INTENTIONAL_DIFFERENCES[name];
    if (difference) {
      assert.equal(miredo.status, difference.miredo, `Miredo: ${miredo.stderr}`);
      assert.equal(ours.status, difference.ours, `ours: ${ours.stderr}`);
    } else {
      assert.equal(ours.status, miredo.status, `Miredo said:\n${miredo.stderr}\nwe said:\n${ours.stderr}`);
    }

    assert.equal(ours.stdout, '');
    if (ours.status === 0) {
      assert.equal(ours.stderr, '');
      return;
    }
    assert.equal(ours.status, 255);
    const lines = ours.stderr.trimEnd().split('\n');
    assert.equal(lines.pop(), 'Fatal configuration error');
    assert.ok(lines.length > 0);
    const reported = lines.map((line) => {
      const match = new RegExp(`^${name.replace(/\./g, '\\.')}:(\\d+): \\S`).exec(line);
      assert.ok(match, `message without ${name}:LINE: ${line}`);
      return Number(match[1]);
    });
    const expected = expectedLines(name);
    if (expected) assert.deepEqual([...new Set(reported)], expected);
  });
}
