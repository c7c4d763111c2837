/**
 * The column types of the MariaDB 10.11 verdict corpus, generated from limits and rules (not a
 * hand list of cases): each type has values (distinct as keys), changes `[label, from, to]`
 * (SQL expressions) and, if it can be a primary key, an extra key value.
 */
export interface TypeSpec {
  label: string;
  decl: string;
  key: boolean;
  values: string[];
  changes: [label: string, from: string, to: string][];
  extra?: string;
}

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;

function integers(): TypeSpec[] {
  const out: TypeSpec[] = [];
  const bits: [string, number][] = [
    ['TINYINT', 8],
    ['SMALLINT', 16],
    ['MEDIUMINT', 24],
    ['INT', 32],
    ['BIGINT', 64],
  ];
  for (const [t, n] of bits) {
    for (const unsigned of [false, true]) {
      const min = unsigned ? 0n : -(1n << BigInt(n - 1));
      const max = unsigned ? (1n << BigInt(n)) - 1n : (1n << BigInt(n - 1)) - 1n;
      out.push({
        label: `${t}${unsigned ? ' UNSIGNED' : ''}`,
        decl: `${t}${unsigned ? ' UNSIGNED' : ''}`,
        key: true,
        values: [min, max, 1n, 2n].map(String),
        changes: [
          ['limit max-1', String(max), String(max - 1n)],
          ['limit min+1', String(min), String(min + 1n)],
          ['zero vs NULL', '0', 'NULL'],
          ['same value (no-op)', '5', '5'],
        ],
        extra: '3',
      });
    }
  }
  return out;
}

function decimals(): TypeSpec[] {
  const big = '99999999999999999999999999999999999.999999999999999999999999999999';
  return [
    {
      label: 'DECIMAL(65,30)',
      decl: 'DECIMAL(65,30)',
      key: true,
      values: [`-${big}`, big, '0', '0.000000000000000000000000000001'],
      changes: [
        ['last digit', big, big.replace(/9$/, '8')],
        ['smallest step', '1', '1.000000000000000000000000000001'],
        ['-0 vs 0 (no-op)', '0', '-0'],
      ],
      extra: '7',
    },
    {
      label: 'DECIMAL(10,2)',
      decl: 'DECIMAL(10,2)',
      key: true,
      values: ['-99999999.99', '99999999.99', '0.01'],
      changes: [
        ['cent', '14850.00', '14850.01'],
        ['trailing zeros (no-op)', '14850', '14850.00'],
      ],
      extra: '1.5',
    },
  ];
}

function floats(): TypeSpec[] {
  return [
    {
      label: 'FLOAT',
      decl: 'FLOAT',
      key: true,
      values: ['1234567', '3.4028234e38', '-1.1754944e-38', '0.5'],
      changes: [
        ['beyond 6 digits', '1234567', '1234568'],
        ['one ULP', '1', '1.0000001192092896'],
        ['unrepresentable (no-op)', '16777216', '16777217'],
      ],
      extra: '2.25',
    },
    {
      label: 'DOUBLE',
      decl: 'DOUBLE',
      key: true,
      values: ['1.7976931348623157e308', '-2.2250738585072014e-308', '0.1', '5e-324'],
      changes: [
        ['one ULP', '0.1', '0.10000000000000002'],
        ['one ULP at max', '1.7976931348623157e308', '1.7976931348623155e308'],
        ['one ULP at subnormal', '5e-324', '1e-323'],
        ['same value spelled differently (no-op)', '100', '1e2'],
      ],
      extra: '0.25',
    },
  ];
}

function bits(): TypeSpec[] {
  return [1, 8, 12, 64].map((n) => {
    const max = (1n << BigInt(n)) - 1n;
    return {
      label: `BIT(${n})`,
      decl: `BIT(${n})`,
      key: true,
      values: [0n, max].map(String),
      changes: [
        ['flip lowest bit', String(max), String(max - 1n)],
        ['zero vs NULL', '0', 'NULL'],
      ] as [string, string, string][],
      ...(n > 1 ? { extra: '1' } : {}),
    };
  });
}

function temporals(): TypeSpec[] {
  const out: TypeSpec[] = [
    {
      label: 'DATE',
      decl: 'DATE',
      key: true,
      values: ["'1000-01-01'", "'9999-12-31'", "'0000-00-00'"],
      changes: [
        ['one day', "'2026-02-28'", "'2026-03-01'"],
        ['zero date vs NULL', "'0000-00-00'", 'NULL'],
      ],
      extra: "'2026-01-01'",
    },
    {
      label: 'YEAR',
      decl: 'YEAR',
      key: true,
      values: ['1901', '2155', '0'],
      changes: [['one year', '2155', '2154']],
      extra: '2000',
    },
  ];
  for (const p of [0, 3, 6]) {
    const frac = p === 0 ? '' : `.${'9'.repeat(p)}`;
    const tick = p === 0 ? '' : `.${'0'.repeat(p - 1)}1`;
    out.push(
      {
        label: `DATETIME(${p})`,
        decl: `DATETIME(${p})`,
        key: true,
        values: [`'1000-01-01 00:00:00'`, `'9999-12-31 23:59:59${frac}'`],
        changes: [
          ['smallest tick', `'2026-01-01 10:00:00'`, `'2026-01-01 10:00:0${p === 0 ? '1' : '0'}${tick}'`],
        ],
        extra: `'2026-06-01 00:00:00'`,
      },
      {
        label: `TIME(${p})`,
        decl: `TIME(${p})`,
        key: true,
        values: [`'-838:59:59'`, `'838:59:59'`, `'00:00:00'`],
        changes: [['smallest tick', `'12:00:00'`, `'12:00:0${p === 0 ? '1' : '0'}${tick}'`]],
        extra: `'01:00:00'`,
      },
      {
        label: `TIMESTAMP(${p})`,
        decl: `TIMESTAMP(${p}) NULL`,
        key: false,
        values: [`'1970-01-01 00:00:01'`, `'2038-01-19 03:14:07${frac}'`],
        changes: [
          ['smallest tick', `'2026-03-29 01:30:00'`, `'2026-03-29 01:30:0${p === 0 ? '1' : '0'}${tick}'`],
        ],
      },
    );
  }
  out.push({
    label: 'TIMESTAMP(6) key',
    decl: 'TIMESTAMP(6)',
    key: true,
    values: [`'1970-01-01 00:00:01'`, `'2038-01-19 03:14:07.999999'`],
    changes: [['smallest tick', `'2026-03-29 01:30:00'`, `'2026-03-29 01:30:00.000001'`]],
    extra: `'2000-01-01 00:00:00'`,
  });
  return out;
}

const COLLATIONS: [charset: string, collation: string, repertoire: 'ascii' | 'latin1' | 'bmp' | 'all'][] = [
  ['utf8mb4', 'utf8mb4_general_ci', 'all'],
  ['utf8mb4', 'utf8mb4_bin', 'all'],
  ['utf8mb4', 'utf8mb4_unicode_520_ci', 'all'],
  ['utf8mb4', 'utf8mb4_general_nopad_ci', 'all'],
  ['utf8mb3', 'utf8mb3_general_ci', 'bmp'],
  ['latin1', 'latin1_swedish_ci', 'latin1'],
  ['latin1', 'latin1_bin', 'latin1'],
  ['utf16', 'utf16_general_ci', 'all'],
  ['ucs2', 'ucs2_general_ci', 'bmp'],
  ['utf32', 'utf32_bin', 'all'],
  ['ascii', 'ascii_general_ci', 'ascii'],
];

function fits(s: string, rep: 'ascii' | 'latin1' | 'bmp' | 'all'): boolean {
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (rep === 'ascii' && cp > 0x7f) return false;
    if (rep === 'latin1' && cp > 0xff) return false;
    if (rep === 'bmp' && cp > 0xffff) return false;
  }
  return true;
}

function strings(): TypeSpec[] {
  const out: TypeSpec[] = [];
  for (const [cs, coll, rep] of COLLATIONS) {
    for (const t of ['CHAR(12)', 'VARCHAR(40)', 'TEXT']) {
      const keyable = t !== 'TEXT';
      const values = ['', 'a', 'zz', 'é', 'ÿ', '€', '🏦', 'naïve'].filter((v) => fits(v, rep));
      const changes: [string, string, string][] = [
        ['changed', 'abc', 'abd'],
        ['trailing space only', 'abc', 'abc '],
        ['case only', 'abc', 'ABC'],
        ['empty vs NULL', '', 'NULL'],
        ['leading space', 'k', ' k'],
        ['accent only', 'resume', 'résumé'],
        ['precomposed vs decomposed (encoding only)', 'caf\u00e9', 'cafe\u0301'],
        ['emoji', 'x🏦', 'x🏧'],
        ['same value (no-op)', 'same', 'same'],
      ].filter(([, a, b]) => fits(a!, rep) && (b === 'NULL' || fits(b!, rep))) as [string, string, string][];
      out.push({
        label: `${t} ${coll}`,
        decl: `${t} CHARACTER SET ${cs} COLLATE ${coll}`,
        key: keyable,
        values: values.map(q),
        changes: changes.map(([l, a, b]) => [l, q(a), b === 'NULL' ? 'NULL' : q(b)]),
        extra: q('extra-key'),
      });
    }
  }
  for (const t of ['TINYTEXT', 'MEDIUMTEXT', 'LONGTEXT']) {
    out.push({
      label: `${t} utf8mb4`,
      decl: `${t} CHARACTER SET utf8mb4`,
      key: false,
      values: [q(''), q('🏦'), `REPEAT('x', 250)`],
      changes: [
        ['last byte of a long value', `REPEAT('x', 250)`, `CONCAT(REPEAT('x', 249), 'y')`],
        ['trailing space only', q('v'), q('v ')],
      ],
    });
  }
  return out;
}

function binaries(): TypeSpec[] {
  const out: TypeSpec[] = [];
  for (const t of ['BINARY(4)', 'VARBINARY(16)', 'TINYBLOB', 'BLOB', 'MEDIUMBLOB', 'LONGBLOB']) {
    const keyable = t.startsWith('BINARY') || t.startsWith('VARBINARY');
    out.push({
      label: t,
      decl: t,
      key: keyable,
      values: ["X'00'", "X'FF'", "X'7F80'", "X'23'"],
      changes: [
        ['one bit', "X'0102'", "X'0103'"],
        ['trailing zero byte', "X'01'", "X'0100'"],
        ['empty vs NULL', "''", 'NULL'],
        ['separator byte inside', "X'41234242'", "X'4123424243'"],
      ],
      extra: "X'0A0B'",
    });
  }
  return out;
}

function others(): TypeSpec[] {
  return [
    {
      label: 'ENUM',
      decl: "ENUM('zeta', 'alpha', 'Mid')",
      key: true,
      values: ["'zeta'", "'Mid'"],
      changes: [
        ['other member', "'zeta'", "'alpha'"],
        ['member vs NULL', "'alpha'", 'NULL'],
        ['case only (no-op)', "'Mid'", "'mid'"],
      ],
      extra: "'alpha'",
    },
    {
      label: 'SET',
      decl: "SET('x', 'y', 'z')",
      key: true,
      values: ["''", "'x,y'", "'z'"],
      changes: [
        ['one member more', "'x,y'", "'x,y,z'"],
        ['empty vs NULL', "''", 'NULL'],
        ['order (no-op)', "'y,x'", "'x,y'"],
      ],
      extra: "'y'",
    },
    {
      label: 'JSON',
      decl: 'JSON',
      key: false,
      values: [`'{"a":1}'`, `'[]'`, `'"🏦"'`],
      changes: [
        ['value', `'{"a":1}'`, `'{"a":2}'`],
        ['whitespace in stored text', `'{"a":1}'`, `'{"a": 1}'`],
        ['1 vs 1.0', `'{"n":1}'`, `'{"n":1.0}'`],
      ],
    },
    {
      label: 'UUID',
      decl: 'UUID',
      key: true,
      values: [
        "'00000000-0000-0000-0000-000000000000'",
        "'ffffffff-ffff-ffff-ffff-ffffffffffff'",
        "'6ccd780c-baba-1026-9564-5b8c656024db'",
      ],
      changes: [
        ['last digit', "'6ccd780c-baba-1026-9564-5b8c656024dc'", "'6ccd780c-baba-1026-9564-5b8c656024dd'"],
        [
          'upper case (no-op)',
          "'11111111-2222-3333-4444-55555555aaaa'",
          "'11111111-2222-3333-4444-55555555AAAA'",
        ],
      ],
      extra: "'12345678-1234-1234-1234-123456789abc'",
    },
    {
      label: 'INET4',
      decl: 'INET4',
      key: true,
      values: ["'0.0.0.0'", "'255.255.255.255'"],
      changes: [['last octet', "'10.0.0.1'", "'10.0.0.2'"]],
      extra: "'192.168.1.1'",
    },
    {
      label: 'INET6',
      decl: 'INET6',
      key: true,
      values: ["'::'", "'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'", "'::ffff:1.2.3.4'"],
      changes: [
        ['mapped vs compatible', "'::ffff:1.2.3.5'", "'::1.2.3.5'"],
        ['zero compression (no-op)', "'2001:db8::1'", "'2001:0db8:0:0:0:0:0:1'"],
      ],
      extra: "'fe80::1'",
    },
    {
      label: 'GEOMETRY',
      decl: 'GEOMETRY',
      key: false,
      values: ["ST_GeomFromText('POINT(1 2)')", "ST_GeomFromText('LINESTRING(0 0, 1 1)')"],
      changes: [['a coordinate', "ST_GeomFromText('POINT(3 4)')", "ST_GeomFromText('POINT(3 4.000000001)')"]],
    },
  ];
}

export function corpusTypes(): TypeSpec[] {
  return [
    ...integers(),
    ...decimals(),
    ...floats(),
    ...bits(),
    ...temporals(),
    ...strings(),
    ...binaries(),
    ...others(),
  ];
}
