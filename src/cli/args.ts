// Command-line options through commander: `--help` on every command (stdout,
// exit 0), unknown options and missing values as usage errors (exit 2), the
// same option table each command already declares.
import { Command, CommanderError, Option } from 'commander';
import { UsageError, type Io } from './io.ts';

export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly multiple?: boolean;
  readonly short?: string;
  /** What `--help` says of it. */
  readonly help?: string;
}

/** The values of a flag table, typed as node:util's parseArgs types them. */
export type FlagValues<F extends Readonly<Record<string, FlagSpec>>> = {
  [K in keyof F]: F[K] extends { readonly multiple: true } ? string[] | undefined : F[K] extends { readonly type: 'boolean' } ? boolean | undefined : string | undefined;
};

export interface ParsedArgs<F extends Readonly<Record<string, FlagSpec>>> {
  readonly values: FlagValues<F>;
  readonly positionals: string[];
}

/**
 * Parses `args` for command `name`; null when `--help` was asked for and
 * printed (the command then exits 0). Throws UsageError on anything else
 * commander refuses.
 */
export function parseCommandArgs<F extends Readonly<Record<string, FlagSpec>>>(io: Io, name: string, usage: string, flags: F, args: readonly string[], description = ''): ParsedArgs<F> | null {
  const command = new Command(`packetpath ${name}`)
    .usage(usage.replace(new RegExp(`^${name}\\s*`), ''))
    .description(description)
    .helpOption('-h, --help', 'show this help')
    .allowExcessArguments(true)
    .argument('[args...]')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: () => undefined });
  for (const [flag, spec] of Object.entries(flags)) {
    const names = `${spec.short ? `-${spec.short}, ` : ''}--${flag}${spec.type === 'string' ? (spec.multiple ? ' <value...>' : ' <value>') : ''}`;
    const option = new Option(names, spec.help ?? '');
    if (spec.multiple) option.argParser((v: string, previous: string[] | undefined) => [...(previous ?? []), v]);
    command.addOption(option);
  }
  // A repeatable option takes one value per occurrence, as `--change A --change B`.
  for (const o of command.options) if (o.variadic) o.variadic = false;
  try {
    command.parse(args, { from: 'user' });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') return null;
      throw new UsageError(`${err.message.replace(/^error: /, '')}\nusage: ${usage}`);
    }
    throw err;
  }
  const values: Record<string, string | boolean | string[] | undefined> = {};
  const opts = command.opts() as Record<string, unknown>;
  for (const flag of Object.keys(flags)) {
    const key = flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    values[flag] = opts[key] as string | boolean | string[] | undefined;
  }
  return { values: values as FlagValues<F>, positionals: command.args };
}
