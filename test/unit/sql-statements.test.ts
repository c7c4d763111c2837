import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RunbookError } from '../../src/errors.js';
import { loadRunbook } from '../../src/runbook/load.js';
import { isTransactional, splitStatements } from '../../src/util/sql-statements.js';

describe('splitStatements', () => {
  it('splits on top-level semicolons only', () => {
    expect(splitStatements('SELECT 1;')).toEqual(['SELECT 1']);
    expect(splitStatements('UPDATE t SET a=\';\' WHERE b="x;y"; SELECT `a;b` FROM t -- c;d\n')).toHaveLength(
      2,
    );
    expect(splitStatements('SELECT 1 /* a; b */')).toHaveLength(1);
    expect(splitStatements("SELECT 'it\\'s; fine'")).toHaveLength(1);
    expect(splitStatements('SELECT 1; # trailing comment')).toHaveLength(1);
  });
});

describe('isTransactional', () => {
  it('DML and session SETs run in a transaction; DDL, SET GLOBAL and replication commands do not', () => {
    for (const s of [
      'UPDATE c SET n=1',
      'insert into t values (1)',
      'SELECT 1',
      '/* x */ DELETE FROM t',
      'SET @a = 1',
    ])
      expect(isTransactional(s), s).toBe(true);
    for (const s of [
      'CREATE TABLE t (x INT)',
      'ALTER TABLE t ADD c INT',
      'SET GLOBAL read_only = ON',
      'SET @@global.read_only = 1',
      'STOP SLAVE',
      'CHANGE MASTER TO MASTER_HOST="x"',
      'COMMIT',
      'SET autocommit = 0',
      'CALL p()',
    ])
      expect(isTransactional(s), s).toBe(false);
  });
});

describe('validate: sql statements', () => {
  it('refuses a string that holds several statements, naming the place', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drctl-sql-'));
    const file = join(dir, 'rb.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: drctl/v1',
        'kind: Runbook',
        'name: sql',
        'roles: { DBA: {} }',
        "resources: { db: { kind: mysql, primary: 'mysql://u@h', replica: 'mysql://u@h2' } }",
        'steps:',
        "  - { id: a, owner: DBA, sql: { resource: db, statements: 'UPDATE t SET a=1; UPDATE t SET b=2' } }",
        "  - { id: b, owner: DBA, sql: { resource: db, statements: ['SELECT 1;'] } }",
      ].join('\n'),
    );
    let diags: RunbookError['diagnostics'] = [];
    try {
      loadRunbook(file);
    } catch (err) {
      if (!(err instanceof RunbookError)) throw err;
      diags = err.diagnostics.filter((d) => d.severity === 'error');
    }
    expect(diags).toHaveLength(1);
    expect(diags[0]).toMatchObject({ path: 'steps[0].sql.statements', line: 7 });
    expect(diags[0]!.message).toMatch(/holds 2 SQL statements/);
  });
});
