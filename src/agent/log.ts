// The agent's log: one JSON object per line on stdout,
// `{"time":"…","level":"info","msg":"…",…fields}`. Every line is scrubbed of
// the secrets it is given (the token), whatever field they hide in.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type Fields = Readonly<Record<string, unknown>>;

export interface Logger {
  debug(msg: string, fields?: Fields): void;
  info(msg: string, fields?: Fields): void;
  warn(msg: string, fields?: Fields): void;
  error(msg: string, fields?: Fields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: Fields): Logger;
}

export interface LoggerOptions {
  readonly write: (line: string) => void;
  readonly level?: LogLevel;
  /** Strings that must never appear in a line (read at every line: the token file can change). */
  readonly secrets?: () => readonly string[];
  readonly now?: () => Date;
}

export const REDACTED = '[redacted]';

function errorFields(value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as NodeJS.ErrnoException).code;
    return { name: value.name, message: value.message, ...(code ? { code } : {}) };
  }
  return value;
}

export function createLogger(options: LoggerOptions, base: Fields = {}): Logger {
  const min = RANK[options.level ?? 'info'];
  const now = options.now ?? (() => new Date());
  const emit = (level: LogLevel, msg: string, fields: Fields = {}): void => {
    if (RANK[level] < min) return;
    const record: Record<string, unknown> = { time: now().toISOString(), level, msg };
    for (const [k, v] of Object.entries({ ...base, ...fields })) {
      if (k !== 'time' && k !== 'level' && k !== 'msg' && v !== undefined) record[k] = errorFields(v);
    }
    let line = JSON.stringify(record);
    for (const secret of options.secrets?.() ?? []) {
      if (secret.length >= 8) line = line.split(secret).join(REDACTED);
    }
    options.write(line + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}
