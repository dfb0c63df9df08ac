// `agent`: the node collection agent (logic in src/agent).
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { Agent, EXIT } from '../../agent/agent.ts';
import { createClient, parseServer, serverIdentity } from '../../agent/client.ts';
import { runCommand } from '../../agent/exec.ts';
import { createLogger, LOG_LEVELS, type LogLevel } from '../../agent/log.ts';
import { isNodeName } from '../../agent/snapshot.ts';
import { AgentState } from '../../agent/state.ts';
// Narrow imports: the agent image needs neither Prisma nor SQLite.
import { parseDuration } from '../../store/duration.ts';
import { looksLikeToken } from '../../store/tokens.ts';
import { UsageError, type Io } from '../io.ts';

export const AGENT_USAGE = `agent --server URL --token-file FILE [--node NAME] [--cluster NAME] [--label K=V]... [--interval 60s] [--once]
      [--state-dir DIR] [--timeout 30s] [--nft-timeout 60s] [--kube-proxy-url URL|none] [--retries N] [--max-backoff 5m] [--log-level info]`;

const HELP = `usage: packetpath ${AGENT_USAGE}

Collects this node's iptables-save / ip6tables-save (both backends when
iptables-legacy and iptables-nft tables coexist), its nft ruleset
(nft -j list ruleset), interfaces, routes, forwarding sysctls, ipsets, nft's
version, the kernel release and kube-proxy's mode, and uploads them to a
packetpath server, skipping uploads when only counters changed. Logs JSON
lines on stdout.

  --server URL        http://HOST:PORT, https://HOST:PORT or unix:/PATH/TO.sock
  --token-file FILE   file holding the bearer token (scope upload; re-read at every request)
  --node NAME         node name (default: the host name)
  --cluster NAME      cluster of the node
  --label K=V         node label (repeatable)
  --interval D        collect every D (default 60s; 500ms, 30s, 5m, 1h)
  --once              collect and upload once, then exit
  --state-dir DIR     where the unsent snapshot is kept (default /var/lib/packetpath-agent)
  --timeout D         time limit per command and per HTTP request (default 30s)
  --nft-timeout D     time limit of nft -j list ruleset (default 60s); past it the rest is
                      uploaded without the nft ruleset and the upload says it timed out
  --kube-proxy-url U  kube-proxy's mode endpoint (default http://127.0.0.1:10249/proxyMode);
                      \`none\`: only infer the mode from the rulesets
  --retries N         --once: further delivery attempts (default 3)
  --max-backoff D     longest wait between delivery attempts (default 5m)
  --log-level L       debug, info, warn or error (default info)

exit codes: 0 ok, 1 nothing could be collected, 2 usage, 3 token rejected (401/403),
4 server unreachable (snapshot kept in the state directory), 5 snapshot rejected by the server
`;

function duration(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new UsageError(`--${name} must be a duration such as 30s, 5m or 1h, not "${text}"`);
  return ms;
}

export async function runAgentCommand(args: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        server: { type: 'string' },
        'token-file': { type: 'string' },
        node: { type: 'string' },
        cluster: { type: 'string' },
        label: { type: 'string', multiple: true },
        interval: { type: 'string' },
        once: { type: 'boolean' },
        'state-dir': { type: 'string' },
        timeout: { type: 'string' },
        'nft-timeout': { type: 'string' },
        'kube-proxy-url': { type: 'string' },
        retries: { type: 'string' },
        'max-backoff': { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: false,
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: packetpath ${AGENT_USAGE}`);
  }
  const v = parsed.values;
  if (v.help) {
    io.stdout(HELP);
    return EXIT.OK;
  }
  if (!v.server) throw new UsageError(`--server is required\nusage: packetpath ${AGENT_USAGE}`);
  if (!v['token-file']) throw new UsageError(`--token-file is required\nusage: packetpath ${AGENT_USAGE}`);
  let server;
  try {
    server = parseServer(v.server);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const node = v.node ?? hostname();
  if (!isNodeName(node)) throw new UsageError(`--node "${node}" is not a valid node name (letters, digits, ".", "_", "-")`);
  const labels: Record<string, string> = {};
  for (const l of v.label ?? []) {
    const eq = l.indexOf('=');
    if (eq <= 0) throw new UsageError(`--label must be KEY=VALUE, not "${l}"`);
    labels[l.slice(0, eq)] = l.slice(eq + 1);
  }
  const level = (v['log-level'] ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const retries = v.retries === undefined ? 3 : Number(v.retries);
  if (!Number.isInteger(retries) || retries < 0) throw new UsageError(`--retries must be a whole number, not "${v.retries}"`);
  const intervalMs = duration('interval', v.interval, 60_000);
  const timeoutMs = duration('timeout', v.timeout, 30_000);
  const nftTimeoutMs = duration('nft-timeout', v['nft-timeout'], 60_000);
  const proxyUrl = v['kube-proxy-url'];
  if (proxyUrl !== undefined && proxyUrl !== 'none' && !/^http:\/\/[^/]+\/\S*$/.test(proxyUrl)) throw new UsageError(`--kube-proxy-url must be http://HOST:PORT/PATH or none, not "${proxyUrl}"`);
  const proxyModeUrl = proxyUrl === 'none' ? null : proxyUrl;
  const maxBackoffMs = duration('max-backoff', v['max-backoff'], 300_000);

  const tokenFile = v['token-file'];
  const readToken = (): string => readFileSync(tokenFile, 'utf8').trim();
  let token: string;
  try {
    token = readToken();
  } catch (err) {
    throw new UsageError(`cannot read --token-file ${tokenFile}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!token) throw new UsageError(`--token-file ${tokenFile} is empty`);
  let current = token;
  const tokenNow = (): string => {
    try {
      current = readToken() || current;
    } catch {
      /* keep the last token read; the server will say if it is wrong */
    }
    return current;
  };

  const log = createLogger({ write: (line) => io.stdout(line), level, secrets: () => [current, token] });
  if (!looksLikeToken(token)) log.warn('the token file does not hold a packetpath token (ppt_<id>_<secret>); sending it anyway', { tokenFile });

  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    log.info('signal received; stopping after the current step', { signal });
    controller.abort();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    log.info('agent starting', {
      node,
      cluster: v.cluster,
      server: server.display,
      once: v.once === true,
      intervalMs,
      stateDir: v['state-dir'] ?? '/var/lib/packetpath-agent',
      tokenFile,
    });
    const agent = new Agent(
      { server: serverIdentity(server), node, cluster: v.cluster, labels, intervalMs, once: v.once === true, timeoutMs, nftTimeoutMs, ...(proxyModeUrl !== undefined ? { proxyModeUrl } : {}), retries, minBackoffMs: 1000, maxBackoffMs },
      {
        client: createClient({ server, token: tokenNow, timeoutMs, userAgent: 'packetpath-agent/0.1.0' }),
        state: new AgentState(v['state-dir'] ?? '/var/lib/packetpath-agent'),
        log,
        run: runCommand,
        signal: controller.signal,
      },
    );
    const code = await agent.run();
    if (code === EXIT.AUTH) io.stderr(`packetpath agent: the server ${server.display} rejected the token from ${tokenFile}; see the log above\n`);
    return code;
  } finally {
    process.removeListener('SIGTERM', onSignal);
    process.removeListener('SIGINT', onSignal);
  }
}
