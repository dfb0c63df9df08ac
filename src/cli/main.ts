#!/usr/bin/env node
// packetpath command line: `npm run -s cli -- <command> [options]`.
import { InputError, UsageError, type Io } from './io.ts';
import { decodeText } from '../store/charset.ts';
import { packageVersion } from './version.ts';
import { runParse, runRender } from './commands/parse.ts';
import { runTrace } from './commands/trace.ts';
import { runDiff } from './commands/diff.ts';
import { runLint } from './commands/lint.ts';
import { runGraph } from './commands/graph.ts';

type Command = (args: string[], io: Io) => Promise<number>;

const COMMANDS: Record<string, { run: Command; help: string }> = {
  parse: { run: runParse, help: 'parse FILE [--json]        parse a dump (iptables-save, -S or -L listing) and show the model' },
  render: { run: runRender, help: 'render FILE                print the parsed ruleset as canonical iptables-save text' },
  diff: { run: runDiff, help: 'diff A B [--json]          compare two dumps rule by rule (canonical form, counters ignored); --format svg|dot|mermaid [--table T] draws one table' },
  graph: { run: runGraph, help: 'graph FILE [--table T] [--expand X,Y] [--format svg|dot|mermaid|json]  a table\'s chains and jumps drawn, kube-proxy\'s chains grouped' },
  lint: { run: runLint, help: 'lint FILE [--host H] [--json]  findings: undefined chains, loops, dead and duplicate rules, Kubernetes trouble' },
  trace: { run: runTrace, help: 'trace FILE [--host H] (--in IF | --local) --src IP --dst IP --proto P [--sport N] [--dport N] [--state S] [--mark 0xN] [--json]' },
  serve: { run: async (args, io) => (await import('./commands/serve.ts')).runServe(args, io), help: 'serve [--port N] [--host H]  run the HTTP API (what `npm start` runs); see `serve --help` for its environment' },
  agent: { run: async (args, io) => (await import('./commands/agent.ts')).runAgentCommand(args, io), help: 'agent --server URL --token-file F [--node N] [--cluster C] [--interval 60s] [--once]  collect this node and upload it; see `agent --help`' },
  token: { run: async (args, io) => (await import('./commands/token.ts')).runToken(args, io), help: 'token create --scope read|upload|admin|scrape [--cluster C] [--name N] [--expires 30d] | token list | token revoke ID  API tokens (DATABASE_URL)' },
};

export function usage(): string {
  return ['usage: packetpath <command> [options]   (packetpath <command> --help for its options; packetpath --version)', '', 'commands:', ...Object.values(COMMANDS).map((c) => '  ' + c.help), ''].join('\n');
}

export async function runCli(argv: string[], io: Io): Promise<number> {
  const [name, ...args] = argv;
  if (!name) {
    io.stderr(usage());
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage());
    return 0;
  }
  if (name === '--version' || name === '-V') {
    io.stdout(`packetpath ${packageVersion()}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`packetpath: unknown command "${name}"\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(args, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`packetpath ${name}: ${err.message}\n`);
      return 2;
    }
    if (err instanceof InputError) {
      io.stderr(`packetpath ${name}: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

const processIo: Io = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return decodeText(Buffer.concat(chunks)).text;
  },
};

/** Runs the command line of this process (the installed bin calls it). */
export function runMain(): void {
  runCli(process.argv.slice(2), processIo).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`packetpath: internal error: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

// `tsx src/cli/main.ts …` (npm start, npm run cli) runs it directly.
if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('/cli/main.ts')) runMain();
