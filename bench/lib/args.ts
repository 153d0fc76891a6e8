/** A minimal `--name value` / `--name=value` parser for the benchmark scripts. */

/** Parses `args` against `defaults`; numbers must be positive integers. Throws on an unknown flag. */
export function parseBenchArgs<T extends Record<string, number | string>>(
  args: readonly string[],
  defaults: T,
): T {
  const values: Record<string, number | string> = { ...defaults };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) throw new Error(`Cannot parse argument "${arg}": expected --name`);
    const [name, inline] = arg.slice(2).split("=", 2) as [string, string | undefined];
    if (!(name in defaults)) {
      throw new Error(
        `Cannot use flag "--${name}": known flags are ${Object.keys(defaults).join(", ")}`,
      );
    }
    const raw = inline ?? args[++i];
    if (raw === undefined) throw new Error(`Cannot use flag "--${name}": it needs a value`);
    if (typeof defaults[name] === "number") {
      const value = Number(raw);
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new Error(`Cannot use --${name} "${raw}": expected a positive integer`);
      }
      values[name] = value;
    } else {
      values[name] = raw;
    }
  }
  return values as T;
}
