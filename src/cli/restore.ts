/**
 * `keycast restore FILE`: a local command, like `migrate` (the server must be stopped). It parses
 * the flags, then loads `src/server/restore.ts`, which does the work, and prints what it restored.
 */
import { Config } from "../config/config.ts";
import { type FlagSpec, parseFlags } from "../config/flags.ts";
import { createLogger } from "../log.ts";
import type { Subcommand } from "./admin/common.ts";
import { type CommandContext, EXIT } from "./io.ts";
import { DATABASE_FLAGS } from "./serve_flags.ts";

/** Flags of `keycast restore`. */
export const RESTORE_FLAGS: FlagSpec[] = [
  ...DATABASE_FLAGS.filter((flag) => flag.name === "data-dir" || flag.name === "master-key-file"),
  {
    name: "force",
    boolean: true,
    help: "Replace the data dir's database (it is kept as keycast.db.before-restore-<time>)",
  },
  {
    name: "trust-unsealed",
    boolean: true,
    help: "Restore a backup that has no seal (taken by a keycast before backups were sealed); " +
      "nothing then shows it is unchanged",
  },
];

/** `keycast restore`. */
export const restoreCommand: Subcommand = {
  name: "restore",
  summary: "Restore a backup into a data dir's embedded database (stop the server first)",
  usage:
    "keycast restore FILE [--data-dir DIR] [--master-key-file PATH] [--force] [--trust-unsealed]",
  flags: RESTORE_FLAGS,
  notes: "FILE is a backup from keycast backup. The master key must be the one the backup's\n" +
    "secrets were sealed with (KEYCAST_MASTER_KEY, or the master key file); restore checks it\n" +
    "before it changes anything. The server seals every backup with a key derived from the\n" +
    "master key: restore refuses a file changed since (a row, a value or a trigger added), and\n" +
    "one with a -wal or -journal file beside it. Backups from a keycast that did not seal them\n" +
    "need --trust-unsealed. The admin token is not in a backup. PostgreSQL databases are\n" +
    "restored with pg_restore.",
  run: async (ctx) => {
    const parsed = parseFlags(ctx.args, RESTORE_FLAGS);
    const problems = [...parsed.problems];
    const [file, extra] = parsed.positionals;
    if (file === undefined) problems.push('"restore" needs the backup FILE');
    if (extra !== undefined) problems.push(`Unexpected argument "${extra}"`);
    const config = new Config(ctx.env, parsed.values);
    problems.push(...config.validate());
    if (problems.length > 0 || file === undefined) {
      for (const problem of problems) ctx.io.err(`${problem}\n`);
      return EXIT.usage;
    }
    return await restore(ctx, config, file, {
      force: parsed.values.get("force") === true,
      trustUnsealed: parsed.values.get("trust-unsealed") === true,
    });
  },
};

async function restore(
  ctx: CommandContext,
  config: Config,
  file: string,
  flags: { force: boolean; trustUnsealed: boolean },
): Promise<number> {
  // Loaded here: the other commands never need the database.
  const { restoreBackup, RestoreError } = await import("../server/restore.ts");
  try {
    const restored = await restoreBackup(config, { file, ...flags });
    ctx.io.out(
      `Restored ${file} into ${restored.path}: ${count(restored.keys, "key")}, ` +
        `${count(restored.authorizations, "authorization")} (${restored.revoked} revoked)\n`,
    );
    if (restored.applied.length > 0) {
      ctx.io.out(`Migrated the backup: applied ${restored.applied.join(", ")}\n`);
    }
    if (restored.keptAs) ctx.io.out(`The previous database is kept as ${restored.keptAs}\n`);
    if (!restored.sealed) {
      ctx.io.err(
        `${file} had no seal (--trust-unsealed): nothing showed it is unchanged since it was ` +
          "taken\n",
      );
    }
    return EXIT.ok;
  } catch (error: unknown) {
    if (error instanceof RestoreError) {
      ctx.io.err(`${error.message}\n`);
      return error.exitCode;
    }
    const log = createLogger({ level: config.logLevel, format: config.logFormat });
    log({ level: "error", ns: "cli.restore", msg: "Cannot restore the backup", error });
    return EXIT.failed;
  }
}

function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? "" : "s"}`;
}
