/**
 * `keycast migrate`: the database part of a server's start, and nothing else — the same data dir
 * lock, database wait, PostgreSQL instance lock and master key check as `serve`, in the same
 * order (`database.ts`), so migrating never happens beside a running server or with the wrong
 * master key.
 */
import type { Config } from "../config/config.ts";
import type { Log } from "../log.ts";
import { openCheckedDatabase } from "./database.ts";
import { lockDataDir, prepareDataDir } from "./startup.ts";

/** Checks the master key and applies pending migrations; returns the migrations applied. */
export async function migrateDatabase(config: Config, log: Log): Promise<string[]> {
  await prepareDataDir(config.dataDir, log);
  using _lock = await lockDataDir(config.dataDir, "migrate");
  await using database = await openCheckedDatabase(config, log, { action: "migrate" });
  database.key.fill(0);
  return database.applied;
}
