import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { selectDatabase, selectTable } from '../../checkers/mysql/filters.js';
import {
  compareKeysBinary,
  encodeKey,
  keyComparison,
  rowTextExpr,
  sqlLiteral,
  chooseHashAlgorithm,
  valueExpr,
  formatKey,
  NULL_HASH_WEIGHT,
  rowHashNeverNull,
  splitChunkSum,
} from '../../checkers/mysql/row-sql.js';
import { parseWindowBound, windowPredicate } from '../../checkers/mysql/window.js';
import { buildRepairStatement } from '../../checkers/mysql/fix-sql.js';
import { mysqlOptionsSchema } from '../../checkers/mysql/options.js';

const int = { name: 'id', dataType: 'bigint', charset: null, nullable: false };
const text = { name: 'name', type: 'varchar(30)', dataType: 'varchar', charset: 'utf8mb4', nullable: true };
const bin = { name: 'code', dataType: 'varbinary', charset: null, nullable: false };
const dt = { name: 'at', dataType: 'datetime', charset: null, nullable: true };

describe('row encoding', () => {
  it('appends byte lengths of string columns and flags NULLs of nullable columns', () => {
    expect(rowTextExpr([int, text, dt])).toBe(
      "CONCAT_WS(_binary'#', CONCAT(ISNULL(`name`), ISNULL(`at`)), `id`, IF(`name` IS NULL, _binary'', CAST(`name` AS BINARY)), IF(`at` IS NULL, _binary'', `at`), IF(`name` IS NULL, _binary'', LENGTH(`name`)))",
    );
    expect(rowTextExpr([int])).toBe('CONCAT(`id`)');
  });

  it('keeps a CAST that a lowered max_allowed_packet can make NULL out of CONCAT_WS, which would skip it', () => {
    const long = { ...text, type: 'varchar(257)' };
    expect(rowTextExpr([int, long, dt])).toBe(
      "CONCAT(CONCAT_WS(_binary'#', CONCAT(ISNULL(`name`), ISNULL(`at`)), `id`), _binary'#', IF(`name` IS NULL, _binary'', CAST(`name` AS BINARY)), _binary'#', CONCAT_WS(_binary'#', IF(`at` IS NULL, _binary'', `at`), IF(`name` IS NULL, _binary'', LENGTH(`name`))))",
    );
    // Without a declared length nothing is assumed.
    expect(rowTextExpr([int, { ...text, type: undefined }])).toContain(
      "_binary'#', IF(`name` IS NULL, _binary'', CAST(",
    );
  });

  it('hashes FLOAT as a double, BIT/ENUM as numbers and large values by their own digest', () => {
    const cols = [
      { name: 'f', dataType: 'float', charset: null, nullable: false },
      { name: 'b', dataType: 'bit', charset: null, nullable: false },
      { name: 'e', dataType: 'enum', charset: 'utf8mb4', nullable: false },
      { name: 'doc', dataType: 'longtext', charset: 'utf8mb4', nullable: false },
    ];
    const crc = rowTextExpr(cols, 'crc32x2');
    expect(crc).toContain('CAST(`f` AS DOUBLE)');
    expect(crc).toContain('(`b`+0)');
    expect(crc).toContain("CONCAT(CRC32(CAST(`doc` AS BINARY)), ',', CRC32C(CAST(`doc` AS BINARY)))");
    expect(rowTextExpr(cols, 'sha256')).toContain('SHA2(CAST(`doc` AS BINARY), 256)');
  });

  it('quotes identifiers with backticks doubled', () => {
    expect(rowTextExpr([{ ...int, name: 'we`ird' }])).toContain('`we``ird`');
  });

  it('uses CRC32+CRC32C on MariaDB >= 10.8 and an MD5 prefix elsewhere', () => {
    expect(chooseHashAlgorithm('mariadb', '10.11.19-MariaDB')).toBe('crc32x2');
    expect(chooseHashAlgorithm('mariadb', '10.6.1-MariaDB')).toBe('md5-64');
    expect(chooseHashAlgorithm('mysql', '8.4.0')).toBe('md5-64');
  });
});

describe('chunk sums', () => {
  it('sums hashes bare only for rows whose text cannot be NULL nor reach 1,024 bytes', () => {
    const col = (
      name: string,
      type: string,
      dataType: string,
      charset: string | null = null,
      nullable = false,
    ) => ({
      name,
      type,
      dataType,
      charset,
      nullable,
    });
    const ledger = [
      col('account_id', 'bigint(20)', 'bigint'),
      col('seq', 'int(11)', 'int'),
      col('delta', 'decimal(18,2)', 'decimal'),
      col('posted_at', 'datetime(6)', 'datetime', null, true),
      col('ref', 'varbinary(16)', 'varbinary'),
      col('status', 'varchar(12)', 'varchar', 'utf8mb4'),
    ];
    expect(rowHashNeverNull(ledger)).toBe(true);
    // A digest, an opaque type, a string that could exceed the packet alone: may be NULL.
    expect(rowHashNeverNull([...ledger, col('note', 'text', 'text', 'utf8mb4', true)])).toBe(false);
    expect(rowHashNeverNull([...ledger, col('u', 'uuid', 'uuid')])).toBe(false);
    expect(rowHashNeverNull([col('v', 'varchar(257)', 'varchar', 'latin1')])).toBe(false);
    // Each fits, together they could not: 5 x (4 x 60 + '#' + a length) > 1,024.
    expect(rowHashNeverNull([col('v', 'varchar(250)', 'varchar', 'utf8mb4')])).toBe(true);
    expect(
      rowHashNeverNull(['a', 'b', 'c', 'd', 'e'].map((n) => col(n, 'varchar(60)', 'varchar', 'utf8mb4'))),
    ).toBe(false);
    // A declared length not known: not assumed.
    expect(rowHashNeverNull([col('d', 'decimal', 'decimal'), col('id', 'int', 'int')])).toBe(false);
    expect(rowHashNeverNull([{ name: 'v', dataType: 'varchar', charset: 'utf8mb4', nullable: false }])).toBe(
      false,
    );
  });

  it('splits SUM(IFNULL(hash, 2^128)) into the NULL hash count and the exact sum of the others', () => {
    // Any chunk of fewer than 2^64 rows with 64-bit hashes: the NULLs are never lost in the sum
    // and never taken for hashes.
    const max = (1n << 64n) - 1n;
    fc.assert(
      fc.property(
        fc.array(fc.option(fc.bigInt({ min: 0n, max }), { nil: null }), { maxLength: 300 }),
        (hashes) => {
          const total = hashes.reduce<bigint>((s, h) => s + (h ?? NULL_HASH_WEIGHT), 0n);
          const split = splitChunkSum(total.toString());
          expect(split.nulls).toBe(BigInt(hashes.filter((h) => h === null).length));
          expect(split.sum).toBe(hashes.reduce<bigint>((s, h) => s + (h ?? 0n), 0n));
        },
      ),
      { seed: 19, numRuns: 300 },
    );
    // The worst case: 2,000,000 rows (the biggest chunk) of the biggest hash, one NULL among them.
    const worst = max * 2_000_000n + NULL_HASH_WEIGHT;
    expect(splitChunkSum(worst.toString())).toEqual({ nulls: 1n, sum: max * 2_000_000n });
    expect(splitChunkSum('0')).toEqual({ nulls: 0n, sum: 0n });
  });
});

describe('SQL literals', () => {
  it('writes numbers bare, temporals quoted, text with its charset introducer, binary as hex', () => {
    expect(sqlLiteral(int, Buffer.from('-42'))).toBe('-42');
    expect(sqlLiteral({ dataType: 'decimal', charset: null }, Buffer.from('12.50'))).toBe('12.50');
    expect(sqlLiteral(dt, Buffer.from('2024-01-01 00:00:00.000001'))).toBe("'2024-01-01 00:00:00.000001'");
    expect(sqlLiteral(text, Buffer.from("it's"))).toBe("_utf8mb4 X'69742773'");
    expect(sqlLiteral(text, Buffer.from(''))).toBe("_utf8mb4''");
    expect(sqlLiteral(bin, Buffer.from([0, 255]))).toBe("X'00ff'");
    expect(sqlLiteral(text, null)).toBe('NULL');
  });

  it('never lets a value break out of its literal (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        const lit = sqlLiteral(text, Buffer.from(bytes));
        expect(lit).toMatch(/^_utf8mb4( X'[0-9a-f]+'|'')$/);
        expect(sqlLiteral(int, Buffer.from(bytes))).toMatch(/^(X'[0-9a-f]*'|[-+]?[\d.]+(e[-+]?\d+)?)$/i);
      }),
    );
  });

  it('expands composite key comparisons into ranges', () => {
    const key = [int, { ...text, nullable: false }];
    expect(keyComparison(key, [Buffer.from('1'), Buffer.from('a')], '>')).toBe(
      "(`id` > 1 OR (`id` = 1 AND `name` > _utf8mb4 X'61'))",
    );
    expect(keyComparison([int], [Buffer.from('7')], '<=')).toBe('`id` <= 7');
  });
});

describe('keys', () => {
  const key = fc.array(
    fc.option(
      fc.uint8Array({ maxLength: 6 }).map((a) => Buffer.from(a)),
      { nil: null },
    ),
    { minLength: 1, maxLength: 3 },
  );
  it('encodeKey is injective (property)', () => {
    fc.assert(
      fc.property(key, key, (a, b) => {
        const same =
          a.length === b.length &&
          a.every((x, i) => (x === null ? b[i] === null : b[i] !== null && x.equals(b[i]!)));
        expect(encodeKey(a) === encodeKey(b)).toBe(same);
      }),
    );
  });
  it('orders keys by bytes, not by collation', () => {
    const keys = [[Buffer.from('b')], [Buffer.from('B')], [Buffer.from('a')], [Buffer.from([0xff])], [null]];
    keys.sort(compareKeysBinary);
    expect(keys.map((k) => (k[0] ? k[0].toString('hex') : 'null'))).toEqual(['null', '42', '61', '62', 'ff']);
  });
});

describe('table filters', () => {
  it('selects databases and tables by glob and excludes', () => {
    const f = { databases: ['bank*'], tables: ['acc*', 'bank2.pay'], exclude: ['*.tmp_*', 'audit'] };
    expect(selectDatabase(f, 'bank')).toBe(true);
    expect(selectDatabase(f, 'other')).toBe(false);
    expect(selectTable(f, 'bank', 'accounts')).toBe(true);
    expect(selectTable(f, 'bank', 'payments')).toBe(false);
    expect(selectTable(f, 'bank2', 'pay')).toBe(true);
    expect(selectTable({ exclude: ['*.tmp_*'] }, 'bank', 'tmp_x')).toBe(false);
    expect(selectTable({ exclude: ['bank'] }, 'bank', 'accounts')).toBe(false);
    expect(selectTable({}, 'bank', 'a.b')).toBe(true);
  });
});

describe('time window', () => {
  const now = new Date('2026-11-22T12:00:00Z');
  it('keeps microseconds of --since/--until bounds (issue 11 item 6)', () => {
    const now = new Date('2026-01-01T12:00:00Z');
    expect(parseWindowBound('2026-01-01T10:00:00.0004Z', '--since', now)).toBe('2026-01-01 10:00:00.000400');
    expect(parseWindowBound('2026-01-01 10:00:00.123456', '--since', now)).toBe('2026-01-01 10:00:00.123456');
    expect(parseWindowBound('2026-01-01T12:00:00.000001+02:00', '--until', now)).toBe(
      '2026-01-01 10:00:00.000001',
    );
    expect(parseWindowBound('2026-01-01T10:00', '--until', now)).toBe('2026-01-01 10:00:00.000000');
  });

  it('reads every value exactly and writes literals in the column type (issue 11 item 1)', () => {
    const latin = { name: 'k', dataType: 'varchar', charset: 'latin1' };
    expect(valueExpr(latin)).toBe('CAST(`k` AS BINARY)');
    expect(sqlLiteral(latin, Buffer.from([0xe9]))).toBe("_latin1 X'e9'");
    expect(sqlLiteral({ dataType: 'varchar', charset: 'utf16' }, Buffer.from([0xd8, 0x3d, 0xde, 0]))).toBe(
      "_utf16 X'd83dde00'",
    );
    const uuid = { name: 'u', dataType: 'uuid', charset: null };
    expect(valueExpr(uuid)).toBe('CAST(`u` AS BINARY)');
    expect(sqlLiteral(uuid, Buffer.alloc(16, 0xab))).toBe(`X'${'ab'.repeat(16)}'`);
    expect(valueExpr({ name: 'e', dataType: 'enum', charset: 'utf8mb4' })).toBe('(`e`+0)');
    expect(sqlLiteral({ dataType: 'enum', charset: 'utf8mb4' }, Buffer.from('3'))).toBe('3');
    expect(valueExpr({ name: 'f', dataType: 'float', charset: null })).toBe('CAST(`f` AS DOUBLE)');
    expect(sqlLiteral({ dataType: 'float', charset: null }, Buffer.from('1234567'))).toBe('1234567e0');
    expect(sqlLiteral({ dataType: 'double', charset: null }, Buffer.from('5e-324'))).toBe('5e-324');
    expect(formatKey([{ name: 'k', dataType: 'varchar', charset: 'utf16' }], [Buffer.from([0, 0xfc])])).toBe(
      "k='ü'",
    );
    expect(formatKey([uuid], [Buffer.from('6ccd780cbaba102695645b8c656024db', 'hex')])).toBe(
      'u=6ccd780c-baba-1026-9564-5b8c656024db',
    );
  });

  it('accepts durations ago and UTC datetimes', () => {
    expect(parseWindowBound('2h', '--since', now)).toBe('2026-11-22 10:00:00.000000');
    expect(parseWindowBound('2026-11-21', '--since', now)).toBe('2026-11-21 00:00:00.000000');
    expect(parseWindowBound('2026-11-21T10:00:00+02:00', '--since', now)).toBe('2026-11-21 08:00:00.000000');
    expect(() => parseWindowBound('yesterday', '--since', now)).toThrow(/--since: expected a duration/);
  });
  it('builds a half-open predicate', () => {
    expect(windowPredicate('updated_at', 'A', 'B')).toBe("`updated_at` >= 'A' AND `updated_at` < 'B'");
  });
  it('options need a column for a window', () => {
    expect(mysqlOptionsSchema.safeParse({ since: '2h' }).success).toBe(false);
    expect(mysqlOptionsSchema.safeParse({ since: '2h', column: 'updated_at' }).success).toBe(true);
  });
});

describe('repair statements', () => {
  const plan = {
    db: 'bank',
    table: 'accounts',
    key: [int],
    keyIndex: 'PRIMARY',
    columns: [int, text],
    filter: '',
    algo: 'crc32x2' as const,
  } as unknown as Parameters<typeof buildRepairStatement>[0];
  it('inserts missing rows, deletes extra ones and updates only differing columns', () => {
    const k = [Buffer.from('5')];
    expect(buildRepairStatement(plan, { kind: 'extra', key: k })).toBe(
      'DELETE FROM `bank`.`accounts` WHERE `id` IN (5) LIMIT 1;',
    );
    expect(buildRepairStatement(plan, { kind: 'missing', key: k, sourceRow: [k[0]!, null] })).toBe(
      'INSERT INTO `bank`.`accounts` (`id`, `name`) VALUES (5, NULL);',
    );
    expect(
      buildRepairStatement(plan, {
        kind: 'different',
        key: k,
        columns: ['name'],
        sourceRow: [k[0]!, Buffer.from('x')],
      }),
    ).toBe("UPDATE `bank`.`accounts` SET `name` = _utf8mb4 X'78' WHERE `id` IN (5) LIMIT 1;");
  });
});
