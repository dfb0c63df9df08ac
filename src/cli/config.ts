// The service configuration for CLI commands: a bad environment is a usage error (exit 2).
import { ConfigError, loadConfig, type Config } from '../http/config.ts';
import { UsageError } from './io.ts';

export function loadCliConfig(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}
