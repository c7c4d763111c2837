import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { interpolate } from '../../src/runbook/interpolate.js';
import { loadRunbook } from '../../src/runbook/load.js';
import { HEADER, writeTree } from './runbook-helpers.js';

// ${file:…} data files are parsed once while their text is unchanged (validate loads a runbook
// once per direction): a changed file must still be read afresh, and one load's values must not
// leak into the next.
const RUNBOOK = `${HEADER}vars:
  svc: \${file:data/services.yaml}
directions:
  switchover: { from: main, to: dr }
  switchback: { from: dr, to: main }
steps:
  - { id: "svc-\${s.name}", owner: SRE, foreach: "\${vars.svc}", as: s, run: [./switch.sh, "\${s.name}", --dc, "\${dir.to}"] }
`;

describe('${file:} data files across loads', () => {
  it('a file changed between two loads is read afresh; both directions see the same list', () => {
    const dir = writeTree({ 'rb.yaml': RUNBOOK, 'data/services.yaml': '- { name: a }\n- { name: b }\n' });
    const file = join(dir, 'rb.yaml');
    const over = loadRunbook(file, { direction: 'switchover' });
    const back = loadRunbook(file, { direction: 'switchback' });
    expect(over.steps.map((s) => s.id)).toEqual(['svc-a', 'svc-b']);
    expect(back.steps.map((s) => s.id)).toEqual(['svc-a', 'svc-b']);
    expect(back.steps.map((s) => (s.action.kind === 'run' ? s.action.argv?.at(-1) : ''))).toEqual([
      'main',
      'main',
    ]);

    writeFileSync(join(dir, 'data/services.yaml'), '- { name: c }\n');
    expect(loadRunbook(file, { direction: 'switchover' }).steps.map((s) => s.id)).toEqual(['svc-c']);
  });

  it("one load's parsed values are its own: changing them does not change the next load", () => {
    const dir = writeTree({ 'data.yaml': 'list: [{ name: a }]\n' });
    const ctx = { baseDir: dir, scope: {}, lenient: false };
    const first = interpolate('${file:data.yaml}', ctx, []) as { list: { name: string }[] };
    first.list[0]!.name = 'changed';
    first.list.push({ name: 'extra' });
    expect(interpolate('${file:data.yaml}', ctx, [])).toEqual({ list: [{ name: 'a' }] });
  });
});
