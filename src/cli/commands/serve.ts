// `serve`: the HTTP service (what `npm start` runs). Configured by the
// environment (src/http/config.ts); `--port` and `--host` override it.
import { parseArgs } from 'node:util';
import { ENV_VARS } from '../../http/config.ts';
import { loadCliConfig } from '../config.ts';
import { startServer } from '../../http/server.ts';
import { InputError, UsageError, type Io } from '../io.ts';

const USAGE = 'serve [--port N] [--host ADDR]';

export async function runServe(args: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { port: { type: 'string' }, host: { type: 'string' }, help: { type: 'boolean', short: 'h' } }, allowPositionals: false });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\nusage: ${USAGE}`);
  }
  if (parsed.values.help) {
    io.stdout(`usage: packetpath ${USAGE}\n\nenvironment:\n${ENV_VARS.map((v) => `  ${v.name.padEnd(24)} ${v.description} (default ${v.default})`).join('\n')}\n`);
    return 0;
  }
  let config = loadCliConfig();
  if (parsed.values.port !== undefined) {
    if (!/^\d+$/.test(parsed.values.port) || Number(parsed.values.port) > 65535) throw new UsageError(`--port must be a port number, not "${parsed.values.port}"`);
    config = { ...config, port: Number(parsed.values.port) };
  }
  if (parsed.values.host !== undefined) config = { ...config, host: parsed.values.host };
  let server;
  try {
    server = await startServer(config);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') throw new InputError(`cannot listen on ${config.host}:${config.port}: ${code}`);
    throw err;
  }
  await server.closed;
  return 0;
}
