import { extname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { registerSecret } from '../util/redact.js';
import { BoundedReadError, MAX_INTERPOLATED_FILE_BYTES, readBoundedText } from './read-bounded.js';

/**
 * `${…}` expressions in runbook values:
 * - `${env:NAME}` / `${env:NAME:-default}` — an environment variable;
 * - `${file:path}` — a file (relative to the runbook file): YAML/JSON files are parsed, others
 *   are read as trimmed text (a password file);
 * - `${vars.x}`, `${svc.name}` (foreach `as`), `${with.x}` (template args), `${direction}`,
 *   `${dir.x}` (the `directions:` values of the current direction).
 * A value that is exactly one expression keeps its type (a list for foreach); inside a longer
 * string it is converted to text. `$${` writes a literal `${`.
 *
 * Secrets: the value of `${env:NAME}` when NAME looks like a credential (PASS, PWD, PW, SECRET,
 * TOKEN, KEY, CREDENTIAL, AUTH) and every text read by `${file:…}` are masked wherever text
 * leaves drctl; so are passwords inside URLs/DSNs and resource credential fields (load.ts).
 */
export const SECRET_ENV_NAME = /PASS|PWD|(^|_)PW(_|$)|SECRET|TOKEN|KEY|CREDENTIAL|AUTH/i;

export interface InterpolationContext {
  /** Directory that `${file:…}` paths are relative to. */
  baseDir: string;
  /** Named values: vars, dir, direction, the foreach item, with. */
  scope: Record<string, unknown>;
  /** When true, a missing env var or file is a warning and a placeholder is used (validate/plan). */
  lenient: boolean;
}

export interface InterpolationProblem {
  message: string;
  hint?: string | undefined;
  severity: 'error' | 'warning';
}

/**
 * What a lenient load (validate, plan, `switch --dry-run`) puts where a missing secret would go:
 * `<unset:env:NAME>` or `<unreadable:file:PATH>`. Visible in a preview, never a real value; a
 * real run refuses a runbook that still holds one (see findPlaceholders).
 */
export function placeholder(source: 'env' | 'file', name: string): string {
  return source === 'env' ? `<unset:env:${name}>` : `<unreadable:file:${name}>`;
}

const PLACEHOLDER_RE = /<(?:unset:(env)|unreadable:(file)):([^<>]*)>/g;

/** The missing secrets a value holds placeholders for, as sorted unique `env:NAME` / `file:PATH`. */
export function findPlaceholders(value: unknown): string[] {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  if (text === undefined || !text.includes('<un')) return [];
  const found = new Set<string>();
  for (const m of text.matchAll(PLACEHOLDER_RE)) found.add(`${m[1] ?? m[2]}:${m[3]}`);
  return [...found].sort();
}

const EXPR_RE = /\$\$\{|\$\{([^}]*)\}/g;
const WHOLE_RE = /^\$\{([^}]*)\}$/;

/**
 * Resolves `${…}` in a value. In a shell command line (`run:` text of a step with `shell: true`,
 * `shell` set by the caller) every inserted value is quoted for the shell, so a var or a
 * foreach item holding `; touch x` stays one argument; `${raw:expr}` inserts it unquoted, for
 * the rare value that is meant to be shell syntax.
 */
export function interpolate(
  value: unknown,
  ctx: InterpolationContext,
  problems: InterpolationProblem[],
  shell = false,
): unknown {
  if (typeof value === 'string') return interpolateString(value, ctx, problems, shell);
  if (Array.isArray(value)) return value.map((v) => interpolate(v, ctx, problems));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    const isShell = (value as Record<string, unknown>).shell === true;
    for (const [k, v] of Object.entries(value)) {
      const key = k.includes('${') ? interpolateString(k, ctx, problems, false) : k;
      out[typeof key === 'string' ? key : String(key)] = interpolate(
        v,
        ctx,
        problems,
        isShell && k === 'run' && typeof v === 'string',
      );
    }
    return out;
  }
  return value;
}

/** POSIX shell quoting; plain words stay as they are. */
export function quoteForShell(v: string): string {
  return /^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replace(/'/g, `'\\''`)}'`;
}

function interpolateString(
  text: string,
  ctx: InterpolationContext,
  problems: InterpolationProblem[],
  shell: boolean,
): unknown {
  if (!text.includes('${')) return text;
  const unclosed = text.replace(EXPR_RE, '').indexOf('${');
  if (unclosed >= 0) {
    problems.push({
      severity: 'error',
      message: `unclosed \${ in ${JSON.stringify(text.length > 80 ? text.slice(0, 77) + '…' : text)}`,
      hint: 'close it with }, or write $${ for a literal ${',
    });
    return text;
  }
  const whole = WHOLE_RE.exec(text);
  if (whole && !shell) return evaluate(stripRaw(whole[1]!.trim()), ctx, problems);
  return text.replace(EXPR_RE, (m, expr: string | undefined) => {
    if (m === '$${') return '${';
    const raw = expr!.trim().startsWith('raw:');
    const v = evaluate(stripRaw(expr!.trim()), ctx, problems);
    if (v !== null && typeof v === 'object') {
      problems.push({
        severity: 'error',
        message: `\${${expr}} is a ${Array.isArray(v) ? 'list' : 'map'} and cannot be placed inside text`,
        hint: 'use it as the whole value (e.g. foreach: ${vars.services}) or pick a field (${svc.name})',
      });
      return '';
    }
    const str = v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v);
    return shell && !raw ? quoteForShell(str) : str;
  });
}

function stripRaw(expr: string): string {
  return expr.startsWith('raw:') ? expr.slice(4).trim() : expr;
}

function evaluate(expr: string, ctx: InterpolationContext, problems: InterpolationProblem[]): unknown {
  if (expr.startsWith('env:')) return readEnv(expr.slice(4), ctx, problems);
  if (expr.startsWith('file:')) return readFileValue(expr.slice(5).trim(), ctx, problems);
  return lookupPath(expr, ctx, problems);
}

function readEnv(spec: string, ctx: InterpolationContext, problems: InterpolationProblem[]): unknown {
  const [name = '', fallback] = spec.split(':-', 2) as [string, string | undefined];
  const value = process.env[name] ?? fallback;
  if (value === undefined) {
    problems.push({
      severity: ctx.lenient ? 'warning' : 'error',
      message: `environment variable ${name} is not set`,
      hint: `export ${name}=… before running drctl (or write \${env:${name}:-default})`,
    });
    return placeholder('env', name);
  }
  if (SECRET_ENV_NAME.test(name)) registerSecret(value);
  return value;
}

function readFileValue(path: string, ctx: InterpolationContext, problems: InterpolationProblem[]): unknown {
  const full = isAbsolute(path) ? path : resolve(ctx.baseDir, path);
  let text: string;
  try {
    text = readBoundedText(full, MAX_INTERPOLATED_FILE_BYTES);
  } catch (err) {
    const bounded = err instanceof BoundedReadError;
    problems.push({
      // A device, a FIFO or a huge file is a wrong path, not a secret missing on this machine.
      severity: ctx.lenient && !bounded ? 'warning' : 'error',
      message: bounded
        ? `cannot read \${file:${path}}: ${full} ${err.message}`
        : `cannot read \${file:${path}}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      hint: bounded ? err.hint : 'file paths are relative to the runbook file that names them',
    });
    return placeholder('file', path);
  }
  const ext = extname(full).toLowerCase();
  if (ext === '.yaml' || ext === '.yml' || ext === '.json') {
    try {
      return parseDataFile(full, text);
    } catch (err) {
      problems.push({
        severity: 'error',
        message: `\${file:${path}} is not valid YAML/JSON: ${(err as Error).message.split('\n')[0]}`,
      });
      return undefined;
    }
  }
  const value = text.trim();
  registerSecret(value);
  return value;
}

/**
 * The last parse of each `${file:…}` data file while its text is unchanged: `validate` loads a
 * runbook once per direction, and parsing a big data list is a fifth of that (issue 19). Each
 * caller gets its own copy, as a fresh parse would give it.
 */
const dataFileCache = new Map<string, { text: string; value: unknown }>();
const DATA_FILE_CACHE_FILES = 64;

function parseDataFile(path: string, text: string): unknown {
  const hit = dataFileCache.get(path);
  if (hit?.text === text) return structuredClone(hit.value);
  const value = parseYaml(text) as unknown;
  if (dataFileCache.size >= DATA_FILE_CACHE_FILES) dataFileCache.delete(dataFileCache.keys().next().value!);
  dataFileCache.set(path, { text, value });
  return structuredClone(value);
}

const SEGMENT_RE = /([^.[\]]+)|\[(\d+)\]/g;

function lookupPath(expr: string, ctx: InterpolationContext, problems: InterpolationProblem[]): unknown {
  const segments = [...expr.matchAll(SEGMENT_RE)].map((m) => (m[2] !== undefined ? Number(m[2]) : m[1]!));
  const head = segments[0];
  if (typeof head !== 'string' || !(head in ctx.scope)) {
    problems.push({
      severity: 'error',
      message: `unknown variable \${${expr}}`,
      hint: `available here: ${Object.keys(ctx.scope)
        .map((k) => `\${${k}}`)
        .join(', ')}, \${env:NAME}, \${file:path}; write $\${ for a literal \${`,
    });
    return undefined;
  }
  let cur: unknown = ctx.scope[head];
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i]!;
    if (cur === null || typeof cur !== 'object' || !(seg in cur)) {
      problems.push({
        severity: 'error',
        message: `\${${expr}}: ${segments.slice(0, i).join('.')} has no field ${String(seg)}`,
        hint:
          cur !== null && typeof cur === 'object'
            ? `fields there: ${Object.keys(cur).slice(0, 12).join(', ')}`
            : undefined,
      });
      return undefined;
    }
    cur = (cur as Record<string | number, unknown>)[seg];
  }
  return cur;
}
