/**
 * Pure helpers for sql steps: splitting text into statements (quotes and comments respected) and
 * deciding which statements can run inside one transaction.
 */

/**
 * Splits SQL text on top-level `;` (not inside quotes, backticks or comments). Empty pieces are
 * dropped, so `"SELECT 1;"` is one statement. Linear in the length of the text.
 */
export function splitStatements(text: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  const n = text.length;
  const push = (end: number): void => {
    const piece = text.slice(start, end).trim();
    if (stripComments(piece).trim() !== '') out.push(piece);
  };
  while (i < n) {
    const c = text[i]!;
    if (c === "'" || c === '"' || c === '`') {
      i = skipQuoted(text, i, c);
    } else if (c === '#' || (c === '-' && text[i + 1] === '-' && /[\s]/.test(text[i + 2] ?? ' '))) {
      const nl = text.indexOf('\n', i);
      i = nl === -1 ? n : nl + 1;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end === -1 ? n : end + 2;
    } else if (c === ';') {
      push(i);
      start = i + 1;
      i += 1;
    } else i += 1;
  }
  push(n);
  return out;
}

function skipQuoted(text: string, i: number, quote: string): number {
  let j = i + 1;
  while (j < text.length) {
    const c = text[j]!;
    if (c === '\\' && quote !== '`') j += 2;
    else if (c === quote) {
      if (text[j + 1] === quote) j += 2;
      else return j + 1;
    } else j += 1;
  }
  return j;
}

function stripComments(s: string): string {
  return s
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/(^|\n)\s*(#|--\s)[^\n]*/g, '$1')
    .trim();
}

/** The first keyword(s) of a statement, lower case: `update`, `set global`, `stop slave`. */
function leadingWords(statement: string): string[] {
  return stripComments(statement)
    .toLowerCase()
    .split(/[\s(]+/, 3)
    .filter((w) => w !== '');
}

/**
 * Statements that can run inside one transaction and be undone by ROLLBACK (on InnoDB tables).
 * Everything else either commits implicitly in MariaDB/MySQL (DDL such as CREATE/ALTER/DROP/
 * TRUNCATE/RENAME, GRANT, LOCK TABLES), changes the server rather than data (`SET GLOBAL`,
 * replication commands such as STOP/START SLAVE, CHANGE MASTER, RESET, FLUSH, KILL), or manages
 * transactions itself (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, `SET autocommit`), or may do any of
 * these (CALL). A whitelist, so an unknown statement is treated as not transactional.
 */
export function isTransactional(statement: string): boolean {
  const [first, second, third] = leadingWords(statement);
  switch (first ?? '') {
    case 'select':
    case 'insert':
    case 'update':
    case 'delete':
    case 'replace':
    case 'with':
    case 'do':
    case 'values':
    case 'show':
    case 'explain':
    case 'describe':
    case 'desc':
      return true;
    case 'set': {
      // SET @x = …, SET SESSION sql_mode …, SET NAMES …: session-local, fine inside a transaction.
      const w = second ?? '';
      if (/^(global|persist|persist_only|@@global\.|@@persist)/.test(w)) return false;
      if (w === 'transaction' || w.startsWith('autocommit') || w.startsWith('@@autocommit')) return false;
      if ((w === 'session' || w === 'local') && (third ?? '').startsWith('autocommit')) return false;
      if (w === 'password' || w === 'role' || w === 'default') return false;
      return true;
    }
    default:
      return false;
  }
}
