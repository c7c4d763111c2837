import { existsSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { SECRET_ENV_NAME } from '../runbook/interpolate.js';
import type { Direction } from '../runbook/schema.js';
import { registerSecret } from '../util/redact.js';

/** Collects repeated `--var k=v` options (commander's accumulator). */
export function collectVar(value: string, previous: Record<string, string> = {}): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) {
    throw new UsageError(`--var ${JSON.stringify(value)}: expected name=value`, {
      hint: 'e.g. --var wave=2 --var dc=dr',
    });
  }
  const name = value.slice(0, eq);
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new UsageError(`--var ${JSON.stringify(value)}: "${name}" is not a valid var name`, {
      hint: 'names use letters, digits and _, starting with a letter',
    });
  }
  // A var named like a credential (db_password, api_token…) is a secret: masked in the console,
  // the journal's argv, invocation.json, runbook.json and step output, like ${env:…} secrets.
  if (SECRET_ENV_NAME.test(name)) registerSecret(value.slice(eq + 1));
  return { ...previous, [name]: value.slice(eq + 1) };
}

export function parseDirection(value: string): Direction {
  if (value !== 'switchover' && value !== 'switchback') {
    throw new UsageError(`--direction must be switchover or switchback, got ${JSON.stringify(value)}`);
  }
  return value;
}

export function requireFile(path: string, what = 'runbook'): string {
  if (!existsSync(path))
    throw new UsageError(`${what} ${path} not found`, {
      hint: 'check the path (relative to the current directory)',
    });
  return path;
}
