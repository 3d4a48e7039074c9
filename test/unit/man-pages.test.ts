/**
 * Issue 17, item 3: the manual pages render without a warning, ship with the npm package, and
 * cannot drift from the code: every directive the parsers read, every command-line option,
 * every signal the bootstrap handles and every variable of the client hook's environment is in
 * its page, and every directive a page documents is one the parser accepts.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseMiredoConf } from '../../src/config/miredo-conf.js';
import { parseServerConf } from '../../src/config/server-conf.js';
import { SettingReader } from '../../src/config/setting-reader.js';
import { runCheckconf } from '../../src/config/checkconf.js';
import { usageText } from '../../src/bootstrap/command-line.js';
import { createClientHook } from '../../src/bootstrap/client-hook.js';
import { createLogger } from '../../src/log/logger.js';
import { PACKAGE_ROOT } from '../support/nobody-copy.js';
import { CTL_USAGE } from '../../src/cli/ctl-args.js';
import { CTL_EXIT } from '../../src/cli/ctl-client.js';
import { controlCommands } from '../../src/ipc/control-protocol.js';

const run = promisify(execFile);

const PAGES = [
  'man/miredo.8',
  'man/miredo-server.8',
  'man/miredo-checkconf.8',
  'man/miredo-ctl.8',
  'man/miredo.conf.5',
  'man/miredo-server.conf.5',
] as const;

const page = (name: (typeof PAGES)[number]): Promise<string> => readFile(join(PACKAGE_ROOT, name), 'utf8');

/** The signals runBootstrap (src/bootstrap/bootstrap.ts) installs handlers for. */
const BOOTSTRAP_SIGNALS = ['SIGHUP', 'SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** Directive names passed to SettingReader.read (or readAll, a repeatable one) while `parse` runs. */
function directivesRead(parse: () => void): Set<string> {
  const names = new Set<string>();
  const original = SettingReader.prototype.read;
  const originalAll = SettingReader.prototype.readAll;
  SettingReader.prototype.read = function (this: SettingReader, ...args: Parameters<typeof original>) {
    names.add(args[0]);
    return original.apply(this, args);
  } as typeof original;
  SettingReader.prototype.readAll = function (this: SettingReader, ...args: Parameters<typeof originalAll>) {
    names.add(args[0]);
    return originalAll.apply(this, args);
  } as typeof originalAll;
  try {
    parse();
  } finally {
    SettingReader.prototype.read = original;
    SettingReader.prototype.readAll = originalAll;
  }
  return names;
}

/** Directives a page documents: `.BI Name " value"` entries of its DIRECTIVES section. */
function documentedDirectives(roff: string): string[] {
  const start = roff.indexOf('\n.SH DIRECTIVES\n');
  assert.ok(start >= 0, 'no DIRECTIVES section');
  const end = roff.indexOf('\n.SH ', start + 1);
  return [...roff.slice(start, end).matchAll(/^\.BI ([A-Za-z0-9]+) "/gm)].map((m) => m[1] ?? '');
}

/** `-x, --long` pairs of a usage text. */
function usageOptions(text: string): Array<[string, string]> {
  return [...text.matchAll(/^\s+(-[A-Za-z]), (--[a-z]+)/gm)].map((m) => [m[1] ?? '', m[2] ?? '']);
}

/** How roff spells an option: each hyphen escaped. */
const roffOption = (option: string): string => option.replaceAll('-', '\\-');

describe('manual pages', () => {
  for (const name of PAGES) {
    test(`${name} renders with groff without a warning`, async () => {
      const { stdout, stderr } = await run('groff', ['-ww', '-man', '-z', join(PACKAGE_ROOT, name)]);
      assert.equal(stderr, '', `groff warns about ${name}`);
      assert.equal(stdout, '');
    });

    test(`${name} has the sections a manual page needs, and SEE ALSO names only shipped pages or system ones`, async () => {
      const roff = await page(name);
      for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'SEE ALSO']) {
        assert.match(roff, new RegExp(`^\\.SH ${section}$`, 'm'), `${name} lacks ${section}`);
      }
      const seeAlso = roff.slice(roff.indexOf('\n.SH SEE ALSO\n'));
      for (const [, name, section] of seeAlso.matchAll(/^\.BR ([a-z][a-z.-]*) \((\d)\)/gm)) {
        const shipped = (PAGES as readonly string[]).includes(`man/${name}.${section}`);
        const system = ['ip', 'systemd.exec', 'syslog', 'systemd.unit', 'systemctl'].includes(name ?? '');
        assert.ok(shipped || system, `${name} SEE ALSO names ${name}(${section}), which is not shipped`);
      }
    });
  }

  test('man (the section 8 renderer) shows each page without a warning', async (t) => {
    for (const name of PAGES) {
      try {
        const { stderr } = await run('man', ['--warnings', '-l', join(PACKAGE_ROOT, name)], {
          env: { ...process.env, MANPAGER: 'cat', PAGER: 'cat', MANWIDTH: '80' },
        });
        assert.equal(stderr, '', `man --warnings complains about ${name}`);
      } catch (error) {
        if ((error as { code?: unknown }).code === 'ENOENT') {
          t.skip('man is not installed');
          return;
        }
        throw error;
      }
    }
  });

  test('the npm package installs them', async () => {
    const pkg = JSON.parse(await readFile(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
      man?: string[];
      files?: string[];
    };
    assert.deepEqual([...(pkg.man ?? [])].sort(), PAGES.map((p) => `./${p}`).sort());
    assert.ok(pkg.files?.includes('man'));
  });

  test('miredo.conf(5) documents exactly the directives parseMiredoConf reads, in every mode', async () => {
    const read = directivesRead(() => {
      for (const mode of ['client', 'cone', 'restricted']) parseMiredoConf(`RelayType ${mode}\n`, 'x');
    });
    assert.ok(read.size >= 11, `only ${[...read].join(', ')} seen: update this test`);
    const documented = documentedDirectives(await page('man/miredo.conf.5'));
    assert.deepEqual([...documented].sort(), [...read].sort());
  });

  test('miredo-server.conf(5) documents exactly the directives parseServerConf reads', async () => {
    const read = directivesRead(() => parseServerConf('ServerBindAddress 192.0.2.1\n', 'x'));
    assert.ok(read.size >= 7, `only ${[...read].join(', ')} seen: update this test`);
    const documented = documentedDirectives(await page('man/miredo-server.conf.5'));
    assert.deepEqual([...documented].sort(), [...read].sort());
  });

  test('every directive a page documents is accepted, not reported as unknown', async () => {
    for (const [name, parse] of [
      ['man/miredo.conf.5', (text: string) => parseMiredoConf(`RelayType cone\n${text}`, 'x')],
      ['man/miredo-server.conf.5', (text: string) => parseServerConf(text, 'x')],
    ] as const) {
      for (const directive of documentedDirectives(await page(name))) {
        const result = parse(`${directive} 1\n`);
        const unknown = result.warnings.filter((w) => /unknown directive/.test(w.message));
        assert.deepEqual(unknown, [], `${name}: ${directive}`);
      }
    }
  });

  test('the daemons’ pages list every option of their usage text, short and long', async () => {
    for (const program of ['miredo', 'miredo-server'] as const) {
      const roff = await page(`man/${program}.8`);
      const options = usageOptions(usageText(program));
      assert.ok(options.length >= 6, usageText(program));
      for (const [short, long] of options) {
        assert.ok(roff.includes(roffOption(short)), `${program}(8) lacks ${short}`);
        assert.ok(roff.includes(roffOption(long)), `${program}(8) lacks ${long}`);
      }
      // -t is accepted by both daemons, although miredo-server's usage text does not show it.
      assert.ok(roff.includes('\\-\\-chroot'));
    }
  });

  test('miredo-ctl(8) lists every command, option and exit status of its usage text', async () => {
    const roff = await page('man/miredo-ctl.8');
    const options = usageOptions(CTL_USAGE);
    assert.ok(options.length >= 6, CTL_USAGE);
    for (const [short, long] of options) {
      assert.ok(roff.includes(roffOption(short)), `miredo-ctl(8) lacks ${short}`);
      assert.ok(roff.includes(roffOption(long)), `miredo-ctl(8) lacks ${long}`);
    }
    for (const command of controlCommands) assert.match(roff, new RegExp(`^\\.B ${command}$`, 'm'));
    for (const status of Object.values(CTL_EXIT)) assert.match(roff, new RegExp(`^\\.B ${status}$`, 'm'));
  });

  test('miredo-checkconf(8) lists every option of its usage text', async () => {
    let usage = '';
    await runCheckconf(['-h'], { stdout: (text) => (usage += text), stderr: () => undefined });
    const roff = await page('man/miredo-checkconf.8');
    const options = [...usage.matchAll(/(?<![\w-])(--?[A-Za-z][a-z]*)/g)].map((m) => m[1] ?? '');
    assert.ok(options.includes('--server') && options.includes('-c'), usage);
    for (const option of options) assert.ok(roff.includes(roffOption(option)), `lacks ${option}`);
    for (const status of ['0', '255']) assert.match(roff, new RegExp(`^\\.B ${status}$`, 'm'));
  });

  test('the daemons’ pages document every signal the bootstrap handles and the exit statuses', async () => {
    for (const name of ['man/miredo.8', 'man/miredo-server.8'] as const) {
      const roff = await page(name);
      const signals = roff.slice(roff.indexOf('\n.SH SIGNALS\n'), roff.indexOf('\n.SH EXIT STATUS\n'));
      for (const signal of BOOTSTRAP_SIGNALS) assert.ok(signals.includes(signal), `${name} lacks ${signal}`);
      for (const status of ['0', '1', '2']) assert.match(roff, new RegExp(`^\\.B ${status}$`, 'm'));
    }
  });

  test('miredo(8) documents every variable the client hook is given, and its environment variables', async () => {
    let env: Readonly<Record<string, string>> = {};
    const hook = createClientHook({
      path: '/hook',
      ifname: 'teredo',
      ifindex: 7,
      log: createLogger({ name: 'test', sink: { write: () => undefined }, level: 'emergency' }),
      probe: () => Promise.resolve(true),
      runner: (_path, given) => {
        env = given;
        return Promise.resolve({ code: 0, output: '' });
      },
    });
    await hook.report('down', null, 1280);
    const names = Object.keys(env);
    assert.ok(names.includes('OLD_MTU'), names.join(' '));
    const roff = await page('man/miredo.8');
    const section = roff.slice(roff.indexOf('\n.SH CLIENT HOOK\n'), roff.indexOf('\n.SH EXIT STATUS\n'));
    for (const name of names) assert.ok(section.includes(name), `CLIENT HOOK lacks ${name}`);
    for (const variable of ['MIREDO_TS_CLIENT_HOOK', 'MIREDO_TS_FAULT_INJECTION', 'MIREDO_TS_TUN_OFFLOAD']) {
      assert.ok(roff.includes(variable), `miredo(8) lacks ${variable}`);
    }
  });
});
