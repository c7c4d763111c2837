import { createHash } from 'node:crypto';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';
import type { Diagnostics } from './diagnostics.js';
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
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const pos = e.linePos?.[0] ?? lines.linePos(e.pos[0]);
      diags.add({
        file: display,
        line: pos?.line,
        col: pos?.col,
        message: `YAML syntax error: ${e.message.split('\n')[0] ?? e.message}`,
        hint: 'check indentation and quoting at this place',
      });
    }
    return null;
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 1000 });
  } catch (err) {
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
  const sha256 = createHash('sha256').update(text).digest('hex');
  return { display, path, text, sha256, doc, lines, value };
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
