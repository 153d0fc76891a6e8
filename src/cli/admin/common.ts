/**
 * What every management subcommand shares: the `--server`/`--data-dir` flags (the default server
 * follows the serve environment, {@link defaultServerUrl}), flag parsing with `--help`, the admin
 * token lookup, and one mapping from failures to exit codes — usage problems (one line each,
 * exit 2) and server or connection errors (`Error: … (HTTP 404)`, exit 1).
 */
import { Config, DEFAULT_DATA_DIR, DEFAULT_PORT, ENV_TWINS } from "../../config/config.ts";
import { type FlagSpec, type FlagValues, formatFlags, parseFlags } from "../../config/flags.ts";
import { AdminTokenError, readAdminToken } from "../../http/admin_token.ts";
import { AdminClient, AdminError } from "../client.ts";
import { type CommandContext, EXIT } from "../io.ts";

/** A top-level management subcommand, as `main.ts` dispatches it. */
export interface Subcommand {
  /** The word after `keycast`. */
  name: string;
  /** One line for `keycast help`. */
  summary: string;
  /** The usage line(s) shown by `--help`. */
  usage: string;
  /** Every flag the command accepts. */
  flags: FlagSpec[];
  /** Runs the command; resolves to the exit code. */
  run(ctx: CommandContext): Promise<number>;
  /** More help, printed by `--help` after the flags (arguments, advice). */
  notes?: string;
}

/** Raised inside a command for problems with its arguments: printed one per line, exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
  constructor(readonly problems: string[]) {
    super(problems.join("\n"));
  }
}

/** Collects the problems of several checks, so a command reports them all at once. */
export class Problems {
  readonly #list: string[] = [];

  /** Records one problem. */
  add(problem: string): void {
    this.#list.push(problem);
  }

  /** Runs `fn`, recording its {@link UsageError} problems; undefined when it had any. */
  check<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch (error: unknown) {
      if (!(error instanceof UsageError)) throw error;
      this.#list.push(...error.problems);
      return undefined;
    }
  }

  /** Throws a {@link UsageError} with every recorded problem, if there is one. */
  throwIfAny(): void {
    if (this.#list.length) throw new UsageError([...this.#list]);
  }
}

/** Raised inside a command when the operation cannot be done (not a usage problem): exit 1. */
export class CommandFailure extends Error {
  override name = "CommandFailure";
}

/** `--server` and `--data-dir`, accepted by every management subcommand. */
export const CONNECTION_FLAGS: FlagSpec[] = [
  {
    name: "server",
    env: ENV_TWINS.server,
    value: "URL",
    help: `Address of the running keycast. Default http://${ENV_TWINS.host}:${ENV_TWINS.port} ` +
      `as serve reads them (http://127.0.0.1:${DEFAULT_PORT} when unset)`,
  },
  {
    name: "data-dir",
    env: ENV_TWINS["data-dir"],
    value: "DIR",
    help: `Where to read admin.token (KEYCAST_ADMIN_TOKEN wins). Default ${DEFAULT_DATA_DIR}`,
  },
];

/** `--json`: machine-readable output. */
export const JSON_FLAG: FlagSpec = { name: "json", boolean: true, help: "Print JSON" };

/** One parsed invocation of a subcommand. */
export interface Call {
  ctx: CommandContext;
  values: FlagValues;
  positionals: string[];
  /** A client for the server named by `--server`, with the admin token (read on first use). */
  client(): Promise<AdminClient>;
}

/** Builds a {@link Subcommand} whose `run` parses flags, handles `--help` and maps failures. */
export function defineCommand(
  spec: Omit<Subcommand, "run" | "flags"> & {
    flags: FlagSpec[];
    run(call: Call): Promise<number>;
  },
): Subcommand {
  const flags = [...spec.flags, ...CONNECTION_FLAGS];
  const command: Subcommand = {
    name: spec.name,
    summary: spec.summary,
    usage: spec.usage,
    flags,
    ...(spec.notes === undefined ? {} : { notes: spec.notes }),
    run: async (ctx) => {
      const parsed = parseFlags(ctx.args, flags);
      if (parsed.help) {
        ctx.io.out(helpText(command));
        return EXIT.ok;
      }
      const connection = new Map([...parsed.values].filter(([name]) => isConnectionFlag(name)));
      const problems = [...parsed.problems];
      if (!connection.has("server") && !ctx.env.get(ENV_TWINS.server)) {
        const server = defaultServerUrl(ctx.env);
        if (server.ok) connection.set("server", server.url);
        else problems.push(server.problem);
      }
      const config = new Config(ctx.env, connection);
      problems.push(...config.validate().filter((problem) => problem.startsWith("--server:")));
      if (problems.length) return usage(ctx, problems);
      let client: AdminClient | undefined;
      const call: Call = {
        ctx,
        values: parsed.values,
        positionals: parsed.positionals,
        client: async () =>
          client ??= new AdminClient({
            server: config.server,
            token: (await readAdminToken({ dataDir: config.dataDir, envToken: config.adminToken }))
              .token,
            fetch: ctx.fetch,
          }),
      };
      try {
        return await spec.run(call);
      } catch (error: unknown) {
        return report(ctx, error);
      }
    },
  };
  return command;
}

/** The `--help` text of a subcommand: summary, usage, flags (when it has any) and notes. */
export function helpText(
  command: Pick<Subcommand, "summary" | "usage" | "flags" | "notes">,
): string {
  const flags = command.flags.length ? `\n\nFlags:\n${formatFlags(command.flags)}` : "";
  const notes = command.notes ? `\n\n${command.notes.trimEnd()}` : "";
  return `${command.summary}\n\nUsage: ${command.usage}${flags}${notes}\n`;
}

/** The default `--server`: a URL, or the problem with the environment it comes from. */
export type DefaultServer = { ok: true; url: string } | { ok: false; problem: string };

/**
 * The server address when neither `--server` nor `KEYCAST_SERVER` is given: where `keycast serve`
 * listens with the same environment, `http://<KEYCAST_HOST>:<PORT>` (default 127.0.0.1 and
 * {@link DEFAULT_PORT}). A wildcard bind address (`0.0.0.0`, `::`) is reached on loopback
 * (`127.0.0.1`, `[::1]`); an IPv6 address is put in brackets.
 */
export function defaultServerUrl(env: ReadonlyMap<string, string>): DefaultServer {
  const rawPort = env.get(ENV_TWINS.port)?.trim() || String(DEFAULT_PORT);
  const port = Number(rawPort);
  if (port === 0 && /^0+$/.test(rawPort)) {
    return {
      ok: false,
      problem: `${ENV_TWINS.port} is 0 (the server picks a free port), so the default --server ` +
        `is unknown: set --server or ${ENV_TWINS.server}`,
    };
  }
  if (!/^\d{1,5}$/.test(rawPort) || port < 1 || port > 65535) {
    return {
      ok: false,
      problem: `${ENV_TWINS.port}: cannot use "${rawPort}" for the default --server: ` +
        `give a port from 1 to 65535, or set --server or ${ENV_TWINS.server}`,
    };
  }
  let host = (env.get(ENV_TWINS.host)?.trim() || "127.0.0.1").replace(/^\[(.*)\]$/, "$1");
  if (host === "0.0.0.0") host = "127.0.0.1";
  else if (host.includes(":") && /^[0:]+$/.test(host)) host = "::1";
  return { ok: true, url: `http://${host.includes(":") ? `[${host}]` : host}:${port}` };
}

function isConnectionFlag(name: string): boolean {
  return CONNECTION_FLAGS.some((flag) => flag.name === name);
}

/** Prints each problem on its own line and returns the usage exit code. */
export function usage(ctx: CommandContext, problems: readonly string[]): number {
  for (const problem of problems) ctx.io.err(`${problem}\n`);
  return EXIT.usage;
}

/** Prints a failure as one line and returns its exit code. */
function report(ctx: CommandContext, err: unknown): number {
  if (err instanceof UsageError) return usage(ctx, err.problems);
  if (err instanceof AdminError) {
    ctx.io.err(`Error: ${err.message}${err.status ? ` (HTTP ${err.status})` : ""}\n`);
    if (err.status === 401 || err.status === 403) {
      ctx.io.err(
        "Check the admin token: KEYCAST_ADMIN_TOKEN, or admin.token in the server's --data-dir\n",
      );
    }
    return EXIT.failed;
  }
  if (err instanceof AdminTokenError || err instanceof CommandFailure) {
    ctx.io.err(`Error: ${err.message}\n`);
    return EXIT.failed;
  }
  throw err;
}

/** The string value of a flag, if given. */
export function stringFlag(values: FlagValues, name: string): string | undefined {
  const value = values.get(name);
  return typeof value === "string" ? value : undefined;
}

/** The values of a repeatable flag (empty when absent). */
export function listFlag(values: FlagValues, name: string): string[] {
  const value = values.get(name);
  return Array.isArray(value) ? value : [];
}

/** Rejects flags given to an action that does not use them (`keys list --name x`). */
export function onlyFlags(call: Call, action: string, allowed: readonly string[]): void {
  const extra = [...call.values.keys()].filter((name) =>
    !allowed.includes(name) && !isConnectionFlag(name)
  );
  if (extra.length) {
    throw new UsageError(extra.map((name) => `Flag "--${name}" does not apply to "${action}"`));
  }
}

/** The only positional argument after the action, or a usage problem naming `what`. */
export function onePositional(call: Call, action: string, what: string): string {
  const rest = call.positionals.slice(1);
  if (rest.length === 0) throw new UsageError([`"${action}" needs ${what}`]);
  if (rest.length > 1) throw new UsageError([`Unexpected argument "${rest[1]}"`]);
  return rest[0]!;
}

/** Prints `value` as pretty JSON on stdout. */
export function printJson(ctx: CommandContext, value: unknown): void {
  ctx.io.out(`${JSON.stringify(value, null, 2)}\n`);
}
