import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJournal } from '../../src/journal/journal.js';
import { listRunDirs, writeRunbook } from '../fixtures/engine-cli.js';
import { makeTempDir, removeDir, requireBinary } from '../harness/process.js';

/**
 * The live TTY view: `script` gives drctl a pseudo-terminal, so listr2 renders and the manual
 * step is approved at the prompt (listr2's enquirer adapter), driven by what appears on screen.
 */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;

beforeAll(() => {
  requireBinary('/usr/bin/script', 'apt-get install -y bsdutils');
  dir = makeTempDir('engine-tty');
});
afterAll(() => removeDir(dir));

describe('switch on a terminal', () => {
  it('renders with listr2 and takes an approval at the prompt', { timeout: 180_000 }, async () => {
    const out = join(dir, 'out.txt');
    const runs = join(dir, 'runs');
    const file = writeRunbook(dir, 'tty-test', {
      environment: 'tty',
      roles: { SRE: {}, QA: { members: ['dave'] } },
      steps: [
        { id: 'prepare', owner: 'SRE', run: ['sh', '-c', `echo prepare >> ${out}`] },
        {
          id: 'business-verified',
          owner: 'QA',
          needs: ['prepare'],
          manual: 'Run the verification cases and confirm',
        },
        {
          id: 'open-traffic',
          owner: 'SRE',
          needs: ['business-verified'],
          run: ['sh', '-c', `echo open >> ${out}`],
        },
      ],
    });
    const cli = `node --import tsx test/fixtures/drctl-cli.ts switch ${file} --yes --runs-dir ${runs}`;
    const child = execa('script', ['-qfec', `stty cols 120 rows 40; ${cli}`, '/dev/null'], {
      cwd: ROOT,
      env: { NODE_ENV: 'test', TERM: 'xterm' },
      reject: false,
      stdin: 'pipe',
    });
    let screen = '';
    child.stdout.on('data', (c: Buffer) => (screen += c.toString()));
    const waitFor = async (re: RegExp, what: string): Promise<void> => {
      const deadline = Date.now() + 60_000;
      while (!re.test(screen)) {
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${what}; screen:\n${screen.slice(-2000)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await waitFor(/approval by QA/, 'the approval prompt');
    child.stdin.write('\r'); // "approve" is the first choice
    await waitFor(/Your name/, 'the name prompt');
    child.stdin.write('\u0015dave\r'); // Ctrl-U clears the default
    await waitFor(/Comment/, 'the comment prompt');
    child.stdin.write('checked on the bridge\r');
    const result = await child;
    expect(result.exitCode, screen.slice(-2000)).toBe(0);
    expect(screen).toMatch(/✔.*prepare/);
    expect(screen).toMatch(/run \S+ succeeded/);
    expect(readFileSync(out, 'utf8')).toBe('prepare\nopen\n');
    const [id] = listRunDirs(runs);
    expect(existsSync(join(runs, id!, 'journal.jsonl'))).toBe(true);
    const approval = readJournal(join(runs, id!, 'journal.jsonl')).events.find((e) => e.type === 'approval');
    expect(approval).toMatchObject({
      step: 'business-verified',
      decision: 'approved',
      by: 'dave',
      comment: 'checked on the bridge',
      via: 'prompt',
    });
  });
});
