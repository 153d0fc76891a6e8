/**
 * A small command-line flag parser: `--name value`, `--name=value`, repeated flags and comma lists
 * (`--relay a --relay b` equals `--relay a,b`), boolean switches, and `--` to end flags.
 * Unknown flags and missing values are reported as problems, never thrown.
 */

/** Describes one flag a subcommand accepts. */
export interface FlagSpec {
  /** Flag name without dashes, e.g. `relay`. */
  name: string;
  /** Environment variable that supplies the value when the flag is absent. */
  env?: string;
  /** Accepts several values (repeated or comma-separated). */
  multiple?: boolean;
  /** A switch that takes no value. */
  boolean?: boolean;
  /** Placeholder for the value in help text, e.g. `URL`. */
  value?: string;
  /** One line of help. */
  help: string;
}

/** Parsed flag values: lists for `multiple`, `true` for switches, else the last string given. */
export type FlagValues = Map<string, string | string[] | true>;

/** Result of {@link parseFlags}: the values, the positional arguments and every problem found. */
export interface ParsedArgs {
  values: FlagValues;
  positionals: string[];
  problems: string[];
  help: boolean;
}

/** Parses `args` against `specs`; `--help`/`-h` is always accepted. */
export function parseFlags(args: readonly string[], specs: readonly FlagSpec[]): ParsedArgs {
  const byName = new Map(specs.map((spec) => [spec.name, spec]));
  const values: FlagValues = new Map();
  const positionals: string[] = [];
  const problems: string[] = [];
  let help = false;

  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    if (arg === "--help" || arg === "-h") {
      help = true;
      continue;
    }
    if (!arg.startsWith("--") || arg.length === 2) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    const spec = byName.get(name);
    if (!spec) {
      problems.push(`Unknown flag "--${name}"`);
      continue;
    }
    if (spec.boolean) {
      if (eq !== -1) problems.push(`Flag "--${name}" takes no value`);
      values.set(name, true);
      continue;
    }
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (i + 1 < args.length && !args[i + 1]!.startsWith("--")) value = args[++i];
    if (value === undefined) {
      problems.push(`Flag "--${name}" needs a value${spec.value ? ` (${spec.value})` : ""}`);
      continue;
    }
    if (spec.multiple) {
      const list = values.get(name);
      const items = splitList(value);
      values.set(name, Array.isArray(list) ? [...list, ...items] : items);
    } else {
      values.set(name, value);
    }
  }
  return { values, positionals, problems, help };
}

/** Splits a comma list, trimming items and dropping empty ones. */
export function splitList(value: string): string[] {
  return value.split(",").map((item) => item.trim()).filter((item) => item.length > 0);
}

/** Renders the flag table of a subcommand's help. */
export function formatFlags(specs: readonly FlagSpec[]): string {
  const rows = specs.map((spec) => {
    const left = `--${spec.name}${spec.boolean ? "" : ` ${spec.value ?? "VALUE"}`}`;
    const right = spec.help + (spec.env ? ` [env ${spec.env}]` : "") +
      (spec.multiple ? " (repeatable, or a comma list)" : "");
    return [left, right] as const;
  });
  const width = Math.max(0, ...rows.map(([left]) => left.length));
  return rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`).join("\n");
}
