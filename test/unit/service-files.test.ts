import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

// Compiled to dist/test/unit/: the repository root is three levels up.
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const repoFile = (relative: string): string => join(repoRoot, relative);
const readRepoFile = (relative: string): Promise<string> => readFile(repoFile(relative), 'utf8');

// ---------------------------------------------------------------------------------------------
// A small systemd unit-file reader: sections, repeated keys, comments, backslash continuations.

interface Assignment {
  readonly key: string;
  readonly value: string;
  readonly line: number;
}
type UnitFile = ReadonlyMap<string, readonly Assignment[]>;

function parseUnitFile(text: string): UnitFile {
  const sections = new Map<string, Assignment[]>();
  let current: Assignment[] | null = null;
  const lines = text.split('\n');
  for (let index = 0; index < lines.length; index++) {
    const lineNumber = index + 1;
    let line = (lines[index] ?? '').trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    while (line.endsWith('\\') && index + 1 < lines.length) {
      index++;
      line = `${line.slice(0, -1)} ${(lines[index] ?? '').trim()}`;
    }
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      const name = header[1] ?? '';
      assert.ok(!sections.has(name), `line ${lineNumber}: section [${name}] appears twice`);
      current = [];
      sections.set(name, current);
      continue;
    }
    const equals = line.indexOf('=');
    assert.ok(equals > 0, `line ${lineNumber}: not a key=value assignment: ${line}`);
    assert.ok(current !== null, `line ${lineNumber}: assignment outside a section`);
    current.push({
      key: line.slice(0, equals).trim(),
      value: line.slice(equals + 1).trim(),
      line: lineNumber,
    });
  }
  return sections;
}

function allValues(unit: UnitFile, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter((a) => a.key === key).map((a) => a.value);
}

/** The one value of a key that must be set exactly once in the section. */
function single(unit: UnitFile, section: string, key: string): string {
  const values = allValues(unit, section, key);
  assert.equal(values.length, 1, `[${section}] ${key}= must be set exactly once, found ${values.length}`);
  return values[0] ?? '';
}

function words(value: string): string[] {
  return value.split(/\s+/).filter((w) => w !== '');
}

/** The argument following `option` in a command line, asserting the option appears once. */
function optionArgument(command: readonly string[], option: string): string {
  const positions = command.flatMap((word, i) => (word === option ? [i] : []));
  assert.equal(positions.length, 1, `${option} must appear exactly once in: ${command.join(' ')}`);
  const argument = command[(positions[0] ?? 0) + 1];
  assert.ok(argument !== undefined && !argument.startsWith('-'), `${option} needs an argument`);
  return argument;
}

function isYes(value: string): boolean {
  return ['yes', 'true', 'on', '1'].includes(value.toLowerCase());
}

describe('parseUnitFile (the test helper itself)', () => {
  test('reads sections, repeated keys, comments and continuations', () => {
    const unit = parseUnitFile(
      '# comment\n[Unit]\nDescription=x y\n\n[Service]\n; other comment\nA=1\nA=2\nB=one \\\n  two\n',
    );
    assert.deepEqual(allValues(unit, 'Unit', 'Description'), ['x y']);
    assert.deepEqual(allValues(unit, 'Service', 'A'), ['1', '2']);
    assert.equal(single(unit, 'Service', 'B'), 'one  two');
    assert.throws(() => single(unit, 'Service', 'A'));
    assert.throws(() => parseUnitFile('[S]\nnot an assignment\n'));
    assert.throws(() => parseUnitFile('Key=outside\n'));
  });
});

// ---------------------------------------------------------------------------------------------
// What each unit must say. The capability sets are the contract documented in the unit files and
// in SECURITY.md: exactly what the bootstrap and the engine use, nothing more.

interface UnitExpectation {
  readonly file: string;
  readonly daemon: string;
  readonly config: string;
  readonly checkconfArgs: readonly string[];
  readonly capabilities: readonly string[];
  readonly needsTun: boolean;
  readonly addressFamilies: readonly string[];
  /** `systemd-analyze security --offline=true`'s overall exposure, at most (see SECURITY.md). */
  readonly exposure: number;
}

const BIN_DIR = '/usr/local/bin';
/** The engine's jailer (miredo-engine-launch); the engine itself holds none. */
const SHARED_CAPABILITIES = ['CAP_SYS_CHROOT'];
/** Issue 17: `systemd-analyze security --offline=true` at most this for both units. */
const MAX_EXPOSURE = 2.0;

const UNITS: readonly UnitExpectation[] = [
  {
    file: 'systemd/miredo.service',
    daemon: 'miredo',
    config: '/etc/miredo/miredo.conf',
    checkconfArgs: ['-f', '/etc/miredo/miredo.conf'],
    capabilities: ['CAP_NET_ADMIN', ...SHARED_CAPABILITIES],
    needsTun: true,
    addressFamilies: ['AF_INET', 'AF_INET6', 'AF_NETLINK', 'AF_UNIX'],
    exposure: MAX_EXPOSURE,
  },
  {
    file: 'systemd/miredo-server.service',
    daemon: 'miredo-server',
    config: '/etc/miredo/miredo-server.conf',
    checkconfArgs: ['--server', '/etc/miredo/miredo-server.conf'],
    capabilities: ['CAP_NET_RAW', ...SHARED_CAPABILITIES],
    needsTun: false,
    // AF_UNIX: the control socket of miredo-ctl (SECURITY.md).
    addressFamilies: ['AF_INET', 'AF_INET6', 'AF_UNIX'],
    exposure: MAX_EXPOSURE,
  },
];

async function loadUnit(file: string): Promise<UnitFile> {
  return parseUnitFile(await readRepoFile(file));
}

for (const expected of UNITS) {
  describe(expected.file, () => {
    test('checks the configuration before starting, runs in the foreground, reloads with SIGHUP', async () => {
      const unit = await loadUnit(expected.file);
      assert.equal(single(unit, 'Service', 'Type'), 'simple');
      const [checkconf, ...others] = allValues(unit, 'Service', 'ExecStartPre');
      assert.deepEqual(words(checkconf ?? ''), [`${BIN_DIR}/miredo-checkconf`, ...expected.checkconfArgs]);
      // The other one creates the jail (see below).
      assert.equal(others.length, 1);
      const start = words(single(unit, 'Service', 'ExecStart'));
      assert.equal(start[0], `${BIN_DIR}/${expected.daemon}`);
      assert.ok(start.includes('-f'), 'ExecStart must keep the bootstrap in the foreground (-f)');
      assert.equal(
        optionArgument(start, '-c'),
        expected.config,
        'the daemon must read the file checkconf checked',
      );
      assert.equal(single(unit, 'Service', 'ExecReload'), '/bin/kill -HUP $MAINPID');
    });

    test('restarts on failure only, after a delay, and stops through the bootstrap', async () => {
      const unit = await loadUnit(expected.file);
      assert.equal(single(unit, 'Service', 'Restart'), 'on-failure');
      const delay = /^(\d+)s?$/.exec(single(unit, 'Service', 'RestartSec'));
      assert.ok(delay, 'RestartSec must be a number of seconds');
      assert.ok(Number(delay[1]) >= 2, 'RestartSec must exceed the bootstrap’s own 1 s engine back-off');
      assert.equal(single(unit, 'Service', 'KillMode'), 'mixed');
    });

    test('keeps the PID file and the chroot in its own runtime directory', async () => {
      const unit = await loadUnit(expected.file);
      const start = words(single(unit, 'Service', 'ExecStart'));
      const pidFile = single(unit, 'Service', 'PIDFile');
      assert.equal(optionArgument(start, '-p'), pidFile, 'PIDFile= and -p must name the same file');
      const runtimeDirs = words(single(unit, 'Service', 'RuntimeDirectory')).map((d) => `/run/${d}`);
      assert.ok(
        runtimeDirs.some((dir) => pidFile === `${dir}/${expected.daemon}.pid`),
        `PID file ${pidFile} must sit in a RuntimeDirectory (${runtimeDirs.join(', ')})`,
      );
      const jail = optionArgument(start, '-t');
      // systemd gives every RuntimeDirectory= to User=; the jail must be root's, like its parents.
      assert.ok(
        !runtimeDirs.some((dir) => jail === dir || jail.startsWith(`${dir}/`)),
        `chroot ${jail} must not be in a RuntimeDirectory= (owned by User=)`,
      );
      assert.match(jail, /^\/run\/[\w-]+$/, 'the jail sits right under /run (root, 0755)');
      assert.ok(
        allValues(unit, 'Service', 'ExecStartPre').includes(`+/bin/mkdir -p -m 0755 ${jail}`),
        'ExecStartPre=+ creates the jail as root',
      );
      assert.deepEqual(
        allValues(unit, 'Service', 'ReadWritePaths'),
        [],
        'nothing outside the runtime directory',
      );
    });

    test('starts as the service user with exactly the capabilities the daemon uses, as ambient ones', async () => {
      const unit = await loadUnit(expected.file);
      assert.deepEqual(allValues(unit, 'Service', 'User'), ['miredo']);
      assert.deepEqual(allValues(unit, 'Service', 'DynamicUser'), []);
      const capabilities = words(single(unit, 'Service', 'CapabilityBoundingSet'));
      assert.deepEqual([...capabilities].sort(), [...expected.capabilities].sort());
      const ambient = words(single(unit, 'Service', 'AmbientCapabilities'));
      assert.deepEqual([...ambient].sort(), [...expected.capabilities].sort());
      assert.ok(isYes(single(unit, 'Service', 'NoNewPrivileges')));
    });

    test('sandboxes the file system, devices and kernel interfaces', async () => {
      const unit = await loadUnit(expected.file);
      assert.equal(single(unit, 'Service', 'ProtectSystem'), 'strict');
      for (const key of [
        'PrivateTmp',
        'ProtectHome',
        'ProtectKernelTunables',
        'ProtectKernelModules',
        'ProtectControlGroups',
        'RestrictNamespaces',
        'LockPersonality',
        'RestrictSUIDSGID',
      ]) {
        assert.ok(isYes(single(unit, 'Service', key)), `${key}= must be yes`);
      }
      assert.equal(single(unit, 'Service', 'SystemCallArchitectures'), 'native');
      assert.deepEqual(words(single(unit, 'Service', 'RestrictAddressFamilies')).sort(), [
        ...expected.addressFamilies,
      ]);
      for (const key of ['PrivateMounts', 'PrivateIPC']) {
        assert.ok(isYes(single(unit, 'Service', key)), `${key}= must be yes`);
      }
      assert.equal(single(unit, 'Service', 'ProtectProc'), 'invisible');
      assert.equal(single(unit, 'Service', 'ProcSubset'), 'pid');
      assert.equal(single(unit, 'Service', 'UMask'), '0077');
      assert.equal(single(unit, 'Service', 'DevicePolicy'), 'closed');
      if (expected.needsTun) {
        assert.deepEqual(allValues(unit, 'Service', 'DeviceAllow'), ['/dev/net/tun rw']);
        assert.ok(
          !allValues(unit, 'Service', 'PrivateDevices').some(isYes),
          'PrivateDevices=yes hides /dev/net/tun',
        );
      } else {
        assert.deepEqual(allValues(unit, 'Service', 'DeviceAllow'), []);
        assert.ok(isYes(single(unit, 'Service', 'PrivateDevices')));
      }
    });

    test('filters system calls: @system-service less @privileged and @resources, plus the launch and jail', async () => {
      const unit = await loadUnit(expected.file);
      assert.deepEqual(allValues(unit, 'Service', 'SystemCallFilter'), [
        '@system-service',
        '~@privileged @resources',
        'capset chroot setuid pkey_alloc pkey_mprotect pkey_free',
      ]);
      // The default action (kill) once verified under systemd; EPERM only while exploring.
      assert.deepEqual(allValues(unit, 'Service', 'SystemCallErrorNumber'), []);
    });

    test('leaves off what Node.js or the tunnel cannot live with', async () => {
      const unit = await loadUnit(expected.file);
      // V8's JIT needs writable+executable memory: Node aborts under MemoryDenyWriteExecute.
      assert.ok(!allValues(unit, 'Service', 'MemoryDenyWriteExecute').some(isYes));
      assert.ok(!allValues(unit, 'Service', 'PrivateNetwork').some(isYes));
      assert.ok(!allValues(unit, 'Service', 'PrivateUsers').some(isYes));
    });

    test('is wanted by multi-user.target after the network is online', async () => {
      const unit = await loadUnit(expected.file);
      assert.equal(single(unit, 'Install', 'WantedBy'), 'multi-user.target');
      assert.equal(single(unit, 'Unit', 'After'), 'network-online.target');
      assert.equal(single(unit, 'Unit', 'Wants'), 'network-online.target');
    });
  });
}

test('the two units never share a runtime directory (stopping one would remove the other’s jail)', async () => {
  const [client, server] = await Promise.all(UNITS.map((u) => loadUnit(u.file)));
  assert.ok(client && server);
  const topLevel = (unit: UnitFile): Set<string> =>
    new Set(words(single(unit, 'Service', 'RuntimeDirectory')).map((d) => d.split('/')[0] ?? d));
  const clientDirs = topLevel(client);
  for (const dir of topLevel(server)) assert.ok(!clientDirs.has(dir), `both units use /run/${dir}`);
});

async function findExecutable(name: string): Promise<string | null> {
  try {
    const { stdout } = await run('sh', ['-c', `command -v ${name}`]);
    return stdout.trim() || null;
  } catch {
    return null;
  }
}

interface CommandResult {
  readonly ok: boolean;
  readonly output: string;
}

async function runCapturing(file: string, args: readonly string[]): Promise<CommandResult> {
  try {
    const { stdout, stderr } = await run(file, args, { timeout: 60_000 });
    return { ok: true, output: `${stdout}${stderr}` };
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string; message?: string };
    return { ok: false, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}${failure.message ?? ''}` };
  }
}

test('systemd-analyze verify accepts both units', async (t) => {
  const analyze = await findExecutable('systemd-analyze');
  if (analyze === null) {
    t.skip('systemd-analyze is not installed');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'mts-units-'));
  try {
    for (const { file } of UNITS) {
      // verify insists that ExecStart binaries exist: point the copies at this checkout's bin/.
      const text = (await readRepoFile(file)).replaceAll(`${BIN_DIR}/`, repoFile('bin/'));
      const copy = join(dir, file.split('/').pop() ?? file);
      await writeFile(copy, text);
      const result = await runCapturing(analyze, ['verify', copy]);
      assert.ok(result.ok, `systemd-analyze verify ${file} failed:\n${result.output}`);
      // verify exits 0 even for unknown keys or bad values; it only warns, naming the unit file.
      const unitName = copy.split('/').pop() ?? copy;
      const complaints = result.output.split('\n').filter((line) => line.includes(unitName));
      assert.deepEqual(complaints, [], `systemd-analyze verify complains about ${file}`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('systemd-analyze security --offline scores both units within their documented exposure', async (t) => {
  const analyze = await findExecutable('systemd-analyze');
  if (analyze === null) {
    t.skip('systemd-analyze is not installed');
    return;
  }
  const dir = await mkdtemp(join(tmpdir(), 'mts-units-'));
  try {
    for (const { file, exposure } of UNITS) {
      const copy = join(dir, file.split('/').pop() ?? file);
      await writeFile(copy, await readRepoFile(file));
      const result = await runCapturing(analyze, ['security', '--offline=true', '--no-pager', copy]);
      const score = /Overall exposure level for \S+: (\d+\.\d)/.exec(result.output);
      assert.ok(score, `no exposure level for ${file}:\n${result.output}`);
      t.diagnostic(`${file}: exposure ${score[1]}`);
      assert.ok(
        Number(score[1]) <= exposure,
        `${file}: exposure ${score[1]} > ${exposure}\n${result.output}`,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// rc.d scripts: syntax, and what they hand to rc.subr, run against a stub rc.subr.

interface RcExpectation {
  readonly file: string;
  readonly name: string;
  readonly command: string;
  readonly defaultArgs: string;
  readonly checkconfArgs: string;
}

const RC_SCRIPTS: readonly RcExpectation[] = [
  {
    file: 'rc.d/miredo',
    name: 'miredo',
    command: '/usr/local/bin/miredo',
    defaultArgs: '-c /usr/local/etc/miredo/miredo.conf -p /var/run/miredo.pid -t /var/empty',
    checkconfArgs: '/usr/local/etc/miredo/miredo.conf',
  },
  {
    file: 'rc.d/miredo_server',
    name: 'miredo_server',
    command: '/usr/local/bin/miredo-server',
    defaultArgs: '-c /usr/local/etc/miredo/miredo-server.conf -p /var/run/miredo-server.pid -t /var/empty',
    checkconfArgs: '--server /usr/local/etc/miredo/miredo-server.conf',
  },
];

const STUB_RC_SUBR = `
load_rc_config() { [ -z "$STUB_RC_CONF" ] || . "$STUB_RC_CONF"; }
run_rc_command() {
  for v in name rcvar command procname pidfile command_args extra_commands start_precmd reload_precmd checkconf_cmd; do
    eval "printf '%s=%s\\n' \\"\\$v\\" \\"\\$$v\\""
  done
  eval "printf 'enable=%s\\n' \\"\\$$rcvar\\""
  case "$1" in checkconf) eval "$checkconf_cmd" ;; esac
}
`;

async function runWithStubRcSubr(
  script: string,
  argument: string,
  rcConf: string | null,
): Promise<Map<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'mts-rcd-'));
  try {
    await writeFile(join(dir, 'rc.subr'), STUB_RC_SUBR);
    const checkconf = join(dir, 'miredo-checkconf');
    await writeFile(checkconf, '#!/bin/sh\necho "checkconf=$*"\n');
    await chmod(checkconf, 0o755);
    const text = (await readRepoFile(script))
      .replace('. /etc/rc.subr', `. ${join(dir, 'rc.subr')}`)
      .replaceAll('/usr/local/bin/miredo-checkconf', checkconf);
    const copy = join(dir, 'script');
    await writeFile(copy, text);
    const env = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', STUB_RC_CONF: '' };
    if (rcConf !== null) {
      env.STUB_RC_CONF = join(dir, 'rc.conf');
      await writeFile(env.STUB_RC_CONF, rcConf);
    }
    const { stdout } = await run('sh', [copy, argument], { env });
    const result = new Map<string, string>();
    for (const line of stdout.split('\n')) {
      const equals = line.indexOf('=');
      if (equals > 0) result.set(line.slice(0, equals), line.slice(equals + 1));
    }
    return result;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

for (const expected of RC_SCRIPTS) {
  describe(expected.file, () => {
    test('is valid sh', async () => {
      await run('sh', ['-n', repoFile(expected.file)]);
    });

    test('is executable and written for rc.subr', async () => {
      await access(repoFile(expected.file), constants.X_OK);
      const text = await readRepoFile(expected.file);
      assert.match(text, /^#!\/bin\/sh\n/);
      assert.match(text, new RegExp(`^# PROVIDE: ${expected.name}$`, 'm'));
      assert.match(text, /^\. \/etc\/rc\.subr$/m);
      assert.match(text, /^load_rc_config \$name$/m);
      assert.match(text, /^run_rc_command "\$1"$/m);
      assert.match(text, /Linux-only/, 'must say that the kernel layer is Linux-only today');
    });

    test('defaults to disabled and passes config, PID file and chroot', async () => {
      const vars = await runWithStubRcSubr(expected.file, 'start', null);
      assert.equal(vars.get('name'), expected.name);
      assert.equal(vars.get('rcvar'), `${expected.name}_enable`);
      assert.equal(vars.get('enable'), 'NO');
      assert.equal(vars.get('command'), expected.command);
      assert.equal(vars.get('procname'), '/usr/local/bin/node');
      assert.equal(vars.get('command_args'), expected.defaultArgs);
      assert.equal(vars.get('pidfile'), words(expected.defaultArgs)[3]);
      assert.deepEqual(words(vars.get('extra_commands') ?? '').sort(), ['checkconf', 'reload']);
      assert.equal(vars.get('start_precmd'), vars.get('checkconf_cmd'));
      assert.equal(vars.get('reload_precmd'), vars.get('checkconf_cmd'));
    });

    test('honours rc.conf settings, adding -u only when a user is set', async () => {
      const p = expected.name;
      const vars = await runWithStubRcSubr(
        expected.file,
        'start',
        `${p}_enable="YES"\n${p}_config="/etc/x.conf"\n${p}_pidfile="/tmp/x.pid"\n${p}_chroot="/jail"\n${p}_user="teredo"\n`,
      );
      assert.equal(vars.get('enable'), 'YES');
      assert.equal(vars.get('command_args'), '-c /etc/x.conf -p /tmp/x.pid -t /jail -u teredo');
      assert.equal(vars.get('pidfile'), '/tmp/x.pid');
    });

    test('checkconf runs miredo-checkconf on the configured file', async () => {
      const vars = await runWithStubRcSubr(expected.file, 'checkconf', null);
      assert.equal(vars.get('checkconf'), expected.checkconfArgs);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// SECURITY.md: required content, and the IPC message table kept in step with the schemas in src/ipc/.

function sectionOf(markdown: string, heading: string): string {
  const start = markdown.indexOf(`\n## ${heading}\n`);
  assert.ok(start >= 0, `SECURITY.md lacks the section "## ${heading}"`);
  const next = markdown.indexOf('\n## ', start + 1);
  return markdown.slice(start, next < 0 ? undefined : next);
}

/** Names in the first column of the IPC table: rows like "| `set-mtu` | engine → bootstrap | ...". */
function documentedMessages(markdown: string): string[] {
  const section = sectionOf(markdown, 'The IPC messages are the policy');
  return [...section.matchAll(/^\|\s*`([a-z0-9-]+)`\s*\|/gm)].map((m) => m[1] ?? '');
}

/** Message type names declared in src/ipc/ as `type: z.literal('...')`. */
function declaredMessages(source: string): string[] {
  return [...source.matchAll(/\btype:\s*z\.literal\(\s*(['"])([^'"]+)\1\s*\)/g)].map((m) => m[2] ?? '');
}

describe('SECURITY.md', () => {
  test('has a threat model, the process roles, limitations and a private reporting channel', async () => {
    const text = await readRepoFile('SECURITY.md');
    for (const heading of [
      'Supported versions',
      'Reporting a vulnerability',
      'Threat model',
      'Processes and what each can do',
      'The IPC messages are the policy',
      'What a compromised engine can still do',
      'Known limitations',
    ]) {
      sectionOf(text, heading);
    }
    assert.match(sectionOf(text, 'Reporting a vulnerability'), /security@miredo-ts\.invalid/);
    assert.match(sectionOf(text, 'Reporting a vulnerability'), /private/i);
  });

  test('names every capability the units keep', async () => {
    const text = await readRepoFile('SECURITY.md');
    for (const { file } of UNITS) {
      const unit = await loadUnit(file);
      for (const capability of words(single(unit, 'Service', 'CapabilityBoundingSet'))) {
        assert.ok(text.includes(`\`${capability}\``), `SECURITY.md does not mention ${capability} (${file})`);
      }
    }
  });

  test('the message-name extraction reads zod literals', () => {
    const source =
      'z.object({ type: z.literal(\'set-mtu\'), mtu: z.number() });\nz.object({type:z.literal("stop")})';
    assert.deepEqual(declaredMessages(source), ['set-mtu', 'stop']);
    assert.deepEqual(
      documentedMessages('x\n## The IPC messages are the policy\n| `a-b` | x |\n| c | y |\n## Next\n| `d` |'),
      ['a-b'],
    );
  });

  test('lists exactly the message types of src/ipc/ (bootstrap-engine-messages.ts, engine-worker-messages.ts)', async () => {
    const sources = await Promise.all(
      ['src/ipc/bootstrap-engine-messages.ts', 'src/ipc/engine-worker-messages.ts'].map((path) =>
        readRepoFile(path),
      ),
    );
    const declared = new Set(sources.flatMap(declaredMessages));
    assert.ok(declared.size > 0, "no `type: z.literal('...')` found in src/ipc/: update this extraction");
    const documented = documentedMessages(await readRepoFile('SECURITY.md'));
    assert.equal(new Set(documented).size, documented.length, 'a message is listed twice in SECURITY.md');
    const missing = [...declared].filter((name) => !documented.includes(name));
    const stale = documented.filter((name) => !declared.has(name));
    assert.deepEqual(missing, [], 'messages in src/ipc/ but not in SECURITY.md');
    assert.deepEqual(stale, [], 'messages in SECURITY.md but not in src/ipc/');
  });
});

test('the npm package ships the service files and their installer', async () => {
  const pkg = JSON.parse(await readRepoFile('package.json')) as { files?: string[] };
  assert.ok(pkg.files?.includes('systemd'));
  assert.ok(pkg.files?.includes('rc.d'));
  assert.ok(pkg.files?.includes('scripts/install-service.sh'));
});
