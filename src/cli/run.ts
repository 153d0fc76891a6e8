/** The `keycast` command line: dispatch to subcommands, `help` and `version`. */
import { Config } from "../config/config.ts";
import { parseFlags } from "../config/flags.ts";
import { createLogger } from "../log.ts";
import { VERSION } from "../version.ts";
import { backupCommand } from "./admin/backup.ts";
import { ADMIN_COMMANDS, type Subcommand } from "./admin/commands.ts";
import { helpText } from "./admin/common.ts";
import { type CommandContext, EXIT } from "./io.ts";
import { restoreCommand } from "./restore.ts";
import { DATABASE_FLAGS, SERVE_FLAGS } from "./serve_flags.ts";

/** Runs `keycast serve` with a validated config; supplied by main.ts (the composition root). */
export type ServeFn = (config: Config, ctx: CommandContext) => Promise<number>;

/** Parses argv, runs the chosen subcommand and returns the process exit code. */
export async function runCli(ctx: CommandContext, serve: ServeFn): Promise<number> {
  const [name, ...rest] = ctx.args;
  const commands = allCommands(serve);
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    const topic = commands.find((c) => c.name === rest[0]);
    ctx.io.out(topic ? helpText(topic) : overview(commands));
    return EXIT.ok;
  }
  if (name === "--version") return await versionCommand.run({ ...ctx, args: [] });
  const command = commands.find((c) => c.name === name);
  if (!command) {
    ctx.io.err(`Unknown command "${name}". Run "keycast help" for the list.\n`);
    return EXIT.usage;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    ctx.io.out(helpText(command));
    return EXIT.ok;
  }
  return await command.run({ ...ctx, args: rest });
}

function allCommands(serve: ServeFn): Subcommand[] {
  return [
    serveCommand(serve),
    migrateCommand,
    ...ADMIN_COMMANDS,
    backupCommand,
    restoreCommand,
    versionCommand,
  ];
}

function serveCommand(serve: ServeFn): Subcommand {
  return {
    name: "serve",
    summary: "Run the signer: relay listener, signing workers and the admin API",
    usage: "keycast serve [--relay URL]... [--port 8080] [flags]",
    flags: SERVE_FLAGS,
    run: async (ctx) => {
      const config = configFrom(ctx, SERVE_FLAGS);
      return config ? await serve(config, ctx) : EXIT.usage;
    },
  };
}

const migrateCommand: Subcommand = {
  name: "migrate",
  summary: "Apply pending database migrations and exit",
  usage: "keycast migrate [--database-url URL | --data-dir DIR]",
  flags: DATABASE_FLAGS,
  run: async (ctx) => {
    const config = configFrom(ctx, DATABASE_FLAGS);
    if (!config) return EXIT.usage;
    const log = createLogger({ level: config.logLevel, format: config.logFormat });
    // Loaded here: the other commands never need the database.
    const { migrateDatabase } = await import("../server/migrate.ts");
    const { StartupError } = await import("../server/startup.ts");
    try {
      const applied = await migrateDatabase(config, log);
      ctx.io.out(applied.length ? `Applied ${applied.join(", ")}\n` : "Database is up to date\n");
      return EXIT.ok;
    } catch (error) {
      if (error instanceof StartupError) {
        ctx.io.err(`${error.message}\n`);
        return error.exitCode;
      }
      log({ level: "error", ns: "cli.migrate", msg: "Cannot migrate the database", error });
      return EXIT.failed;
    }
  },
};

const versionCommand: Subcommand = {
  name: "version",
  summary: "Print the keycast version, Deno version and build target",
  usage: "keycast version",
  flags: [],
  run: (ctx) => {
    ctx.io.out(`keycast ${VERSION}\ndeno ${Deno.version.deno}\ntarget ${Deno.build.target}\n`);
    return Promise.resolve(EXIT.ok);
  },
};

/** Parses flags into a validated Config, printing every problem; undefined on problems. */
function configFrom(ctx: CommandContext, flags: Subcommand["flags"]): Config | undefined {
  const parsed = parseFlags(ctx.args, flags);
  const problems = [...parsed.problems];
  if (parsed.positionals.length > 0) {
    problems.push(`Unexpected argument "${parsed.positionals[0]}"`);
  }
  const config = new Config(ctx.env, parsed.values);
  problems.push(...config.validate());
  if (problems.length === 0) return config;
  for (const problem of problems) ctx.io.err(`${problem}\n`);
  return undefined;
}

function overview(commands: Subcommand[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `keycast ${VERSION} — a NIP-46 remote signer\n\nUsage: keycast <command> [flags]\n\n` +
    `Commands:\n${lines.join("\n")}\n  ${
      "help".padEnd(width)
    }  Show this help, or a command's\n\n` +
    `Run "keycast <command> --help" for a command's flags.\n`;
}
