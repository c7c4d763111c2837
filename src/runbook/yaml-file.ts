import { createHash } from 'node:crypto';
import { LineCounter, isMap, isPair, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import type { Diagnostics } from './diagnostics.js';
import { MAX_NESTING_DEPTH, MAX_STRING_LENGTH } from './limits.js';
import { BoundedReadError, MAX_RUNBOOK_FILE_BYTES, readBoundedText } from './read-bounded.js';

export type PathSegment = string | number;

/** One parsed YAML file with what is needed to point at a place in it. */
export interface YamlFile {
  /** As shown in messages (relative to the cwd when possible). */
  display: string;
  path: string;
  text: string;
  sha256: string;
  doc: Document;
  lines: LineCounter;
  value: unknown;
}

/** Reads and parses a YAML file; syntax errors go to `diags` and null is returned. */
export function readYamlFile(path: string, display: string, diags: Diagnostics): YamlFile | null {
  let text: string;
  try {
    text = readBoundedText(path, MAX_RUNBOOK_FILE_BYTES);
  } catch (err) {
    if (err instanceof BoundedReadError) {
      diags.add({
        file: display,
        message: `cannot read the runbook file: it ${err.message}`,
        hint: err.hint,
      });
      return null;
    }
    const code = (err as NodeJS.ErrnoException).code;
    diags.add({
      file: display,
      message: code === 'ENOENT' ? 'file not found' : `cannot read file (${code ?? String(err)})`,
      hint:
        code === 'ENOENT'
          ? 'check the path; paths in include: are relative to the including file'
          : undefined,
    });
    return null;
  }
  const parsed = parseText(path, text, display, diags);
  if (!parsed) return null;
  const { doc, lines, sha256 } = parsed;
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    if (err instanceof RangeError) {
      // Aliases nest anchors in each other: the value can be deeper than the text.
      diags.add({ file: display, line: 1, col: 1, ...tooDeep() });
      return null;
    }
    // e.g. an alias used before its anchor, or an alias bomb.
    diags.add({
      file: display,
      line: 1,
      col: 1,
      message: `YAML error: ${(err as Error).message}`,
      hint: 'define each &anchor before its *alias',
    });
    return null;
  }
  return { display, path, text, sha256, doc, lines, value };
}

interface Parsed {
  doc: Document;
  lines: LineCounter;
  sha256: string;
}

/**
 * The last parse of each file, reused while its text is unchanged: `validate` loads a runbook
 * once per direction, and parsing is most of the time of a big runbook. Callers only read the
 * Document (values come from a fresh toJS), so sharing it is safe. A few files are kept.
 */
const parseCache = new Map<string, { text: string; parsed: Parsed }>();
const PARSE_CACHE_FILES = 32;

function parseText(path: string, text: string, display: string, diags: Diagnostics): Parsed | null {
  const hit = parseCache.get(path);
  if (hit && hit.text === text) return hit.parsed;
  const lines = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  } catch (err) {
    // The parser recurses per level of block nesting: thousands of levels overflow the stack.
    if (!(err instanceof RangeError)) throw err;
    diags.add({ file: display, line: 1, col: 1, ...tooDeep() });
    return null;
  }
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
      const deep = /call stack size/i.test(e.message);
      diags.add({
        file: display,
        line: pos?.line,
        col: pos?.col,
        ...(deep
          ? tooDeep()
          : {
              message: `YAML syntax error: ${e.message.split('\n')[0] ?? e.message}`,
              hint: 'check indentation and quoting at this place',
            }),
      });
      if (deep) break;
    }
    return null;
  }
  if (!checkShape(doc, lines, display, diags)) return null;
  const parsed = { doc, lines, sha256: createHash('sha256').update(text).digest('hex') };
  if (parseCache.size >= PARSE_CACHE_FILES) parseCache.delete(parseCache.keys().next().value!);
  parseCache.set(path, { text, parsed });
  return parsed;
}

function tooDeep(): { message: string; hint: string } {
  return {
    message: `nested more than ${MAX_NESTING_DEPTH} levels deep (the limit)`,
    hint: 'a runbook needs a few levels; check for a runaway list or mapping',
  };
}

/**
 * Enforces the nesting and string-length limits on the parsed tree, without recursion, before
 * anything recursive (toJS, zod, interpolation) walks it. Reports the first place over a limit.
 */
function checkShape(doc: Document, lines: LineCounter, display: string, diags: Diagnostics): boolean {
  const todo: [unknown, number][] = [[doc.contents, 0]];
  while (todo.length > 0) {
    const [node, depth] = todo.pop()!;
    const where = () => lines.linePos((node as Node).range?.[0] ?? 0);
    if (isMap(node) || isSeq(node)) {
      if (depth >= MAX_NESTING_DEPTH) {
        diags.add({ file: display, ...where(), ...tooDeep() });
        return false;
      }
      for (const item of node.items) {
        if (isPair(item)) {
          todo.push([item.key, depth + 1], [item.value, depth + 1]);
        } else todo.push([item, depth + 1]);
      }
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.length > MAX_STRING_LENGTH) {
      diags.add({
        file: display,
        ...where(),
        message: `a string of ${node.value.length} characters, over the limit of ${MAX_STRING_LENGTH}`,
        hint: 'put large content in a file of its own (a script for run:, a .sql file)',
      });
      return false;
    }
  }
  return true;
}

/**
 * Finds the line and column of a path in a YAML file: the value's position, or the key's
 * when `atKey` (unknown fields), or the deepest existing ancestor when the path is missing.
 */
export function locate(file: YamlFile, path: PathSegment[], atKey = false): { line: number; col: number } {
  let node: unknown = file.doc.contents;
  let best: Node | undefined = node as Node | undefined;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
      if (!pair) break;
      const lastAndKey = i === path.length - 1 && atKey;
      if (lastAndKey || pair.value === null) {
        best = (pair.key as Node | null) ?? best;
        if (lastAndKey) break;
      }
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg];
    } else {
      break;
    }
    if (node && typeof node === 'object' && 'range' in node) best = node as Node;
  }
  const offset = best?.range?.[0] ?? 0;
  return file.lines.linePos(offset);
}

export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}
