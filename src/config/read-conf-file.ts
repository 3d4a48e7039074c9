/**
 * Reading configuration files. A file that cannot be read is reported as a line-0 error,
 * except when the essential setting was given on the command line: then, as in Miredo, it is
 * a warning and the defaults apply.
 */
import { readFile } from 'node:fs/promises';
import { getSystemErrorMap } from 'node:util';
import type { ConfigResult, Diagnostic } from './diagnostic.js';
import { parseMiredoConf } from './miredo-conf.js';
import type { MiredoConfig, MiredoConfOptions } from './miredo-conf.js';
import { parseServerConf } from './server-conf.js';
import type { ServerConfig, ServerConfOptions } from './server-conf.js';

function describeIoError(error: unknown): string {
  if (error instanceof Error) {
    const { errno, code } = error as NodeJS.ErrnoException;
    const text = errno === undefined ? undefined : getSystemErrorMap().get(errno)?.[1];
    if (text !== undefined && code !== undefined) return `${text} (${code})`;
    return error.message;
  }
  return String(error);
}

type ReadOutcome =
  { readonly ok: true; readonly text: string } | { readonly ok: false; readonly diagnostic: Diagnostic };

async function readConfText(path: string, optional: boolean): Promise<ReadOutcome> {
  try {
    return { ok: true, text: await readFile(path, 'utf8') };
  } catch (error) {
    return {
      ok: false,
      diagnostic: {
        file: path,
        line: 0,
        severity: optional ? 'warning' : 'error',
        message: `cannot read the configuration file: ${describeIoError(error)}`,
      },
    };
  }
}

function withReadWarning<T>(result: ConfigResult<T>, warning: Diagnostic): ConfigResult<T> {
  return { ...result, warnings: [warning, ...result.warnings] };
}

async function readAndParse<T>(
  path: string,
  optional: boolean,
  parse: (text: string) => ConfigResult<T>,
): Promise<ConfigResult<T>> {
  const read = await readConfText(path, optional);
  if (read.ok) return parse(read.text);
  if (read.diagnostic.severity === 'error') return { ok: false, errors: [read.diagnostic], warnings: [] };
  return withReadWarning(parse(''), read.diagnostic);
}

export function readMiredoConfFile(
  path: string,
  opts: MiredoConfOptions = {},
): Promise<ConfigResult<MiredoConfig>> {
  return readAndParse(path, opts.serverOverride !== undefined, (text) => parseMiredoConf(text, path, opts));
}

export function readServerConfFile(
  path: string,
  opts: ServerConfOptions = {},
): Promise<ConfigResult<ServerConfig>> {
  return readAndParse(path, opts.bindOverride !== undefined, (text) => parseServerConf(text, path, opts));
}
