import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { getPriority, setPriority } from 'node:os';
import type { Command } from 'commander';
import { readUsers, resolveUsersFile } from '../../engine/users.js';
import { UsageError } from '../../errors.js';
import { resolveRunsDir } from '../../journal/runs.js';
import { printError, printLine } from '../output.js';

interface ServeOptions {
  runsDir?: string;
  listen: string;
  users?: string;
  tlsCert?: string;
  tlsKey?: string;
  insecureHttp?: boolean;
  publicUrl?: string;
  nice: number;
}

/** `drctl serve`: the bridge, a live web view of every run with approvals by named people. */
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve every run live in the browser (and as a JSON API), with approvals by logged-in users')
    .option('--runs-dir <dir>', 'where runs are recorded (default $DRCTL_HOME/runs or .drctl/runs)')
    .option(
      '--listen <host:port>',
      'address to listen on (loopback unless you say otherwise)',
      '127.0.0.1:8080',
    )
    .option('--users <file>', 'the users file (default $DRCTL_USERS or $DRCTL_HOME/users.yaml)')
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM)')
    .option('--tls-key <file>', 'and this private key (PEM)')
    .option('--insecure-http', 'allow plain HTTP on a non-loopback address (passwords and cookies in clear)')
    .option('--public-url <url>', 'the URL people open (behind a proxy or by DNS name): its host is accepted')
    .option(
      '--nice <n>',
      'CPU priority of the bridge (0-19): on a host that also runs the switch, the executor wins the CPU over the viewers (0 keeps the default)',
      parseNice,
      10,
    )
    .addHelpText(
      'after',
      '\nExamples:\n  drctl users add alice --roles QA --password-stdin < pw.txt\n  drctl serve                                  # http://127.0.0.1:8080\n  drctl serve --listen 0.0.0.0:8443 --tls-cert bridge.crt --tls-key bridge.key\n',
    )
    .action(async (opts: ServeOptions) => {
      const { host, port } = parseListen(opts.listen);
      if ((opts.tlsCert === undefined) !== (opts.tlsKey === undefined)) {
        throw new UsageError('--tls-cert and --tls-key go together');
      }
      const loopback = host === 'localhost' || host === '::1' || /^127\./.test(host);
      if (!loopback && opts.tlsCert === undefined && !opts.insecureHttp) {
        throw new UsageError(
          `refusing to serve plain HTTP on ${host}: passwords and session cookies would cross the network in clear`,
          {
            hint: 'give --tls-cert and --tls-key, or put a TLS proxy in front and listen on 127.0.0.1, or (at your own risk) --insecure-http',
          },
        );
      }
      const usersFile = resolveUsersFile(opts.users);
      const users = readUsers(usersFile);
      if (users.size === 0) {
        printError(
          `no users in ${usersFile}: nobody can log in (drctl users add <name> --roles R --password-stdin)`,
          'warning',
        );
      }
      const readPem = (f: string): Buffer => {
        try {
          return readFileSync(f);
        } catch (err) {
          throw new UsageError(`cannot read ${f}: ${(err as Error).message}`);
        }
      };
      let publicHost: string | undefined;
      if (opts.publicUrl !== undefined) {
        try {
          publicHost = new URL(opts.publicUrl).host;
        } catch {
          throw new UsageError(`--public-url ${JSON.stringify(opts.publicUrl)} is not a URL`, {
            hint: 'e.g. https://bridge.bank.example',
          });
        }
      }
      // The bastion runs `drctl switch` too: 50 viewers' pages must not slow a step. A nice of 10
      // gives the bridge ~1/10 of the executor's CPU share when both want it (bench/bridge.bench.ts).
      try {
        if (opts.nice > getPriority()) setPriority(opts.nice);
      } catch {
        // not allowed to change it here: run at the default priority
      }
      const { startBridge } = await import('../../bridge/server.js');
      const runsDir = resolveRunsDir(opts.runsDir);
      const bridge = await startBridge({
        runsDir,
        usersFile,
        host,
        port,
        secure: opts.tlsCert !== undefined,
        allowedHosts: publicHost ? [publicHost] : [],
        ...(opts.tlsCert && opts.tlsKey
          ? { tls: { cert: readPem(opts.tlsCert), key: readPem(opts.tlsKey) } }
          : {}),
      }).catch((err: NodeJS.ErrnoException) => {
        throw new UsageError(`cannot listen on ${opts.listen}: ${err.code ?? err.message}`, {
          hint:
            err.code === 'EADDRINUSE'
              ? 'another process uses that port: pick another with --listen'
              : undefined,
        });
      });
      printLine(`drctl bridge: ${opts.publicUrl ?? bridge.url} (runs ${runsDir}, users ${usersFile})`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void bridge.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}

function parseNice(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 19) {
    throw new UsageError(`--nice must be a whole number from 0 to 19, got ${JSON.stringify(text)}`, {
      hint: 'e.g. --nice 10 (the default), or --nice 0 to keep the normal priority',
    });
  }
  return n;
}

function parseListen(text: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text) ?? /^()()(\d{1,5})$/.exec(text);
  const host = m?.[1] || m?.[2] || '127.0.0.1';
  const port = Number(m?.[3]);
  if (!m || port > 65535 || (isIP(host) === 0 && host !== 'localhost')) {
    throw new UsageError(`--listen ${JSON.stringify(text)}: expected host:port such as 127.0.0.1:8080`);
  }
  return { host, port };
}
