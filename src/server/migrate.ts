/**
 * `keycast migrate`: the database part of a server's start, and nothing else — the same data dir
 * lock, database wait and master key check as `serve`, so migrating never happens beside a
 * running server or with the wrong master key.
 */
import type { Config } from "../config/config.ts";
import type { Log } from "../log.ts";
import { openMasterKey } from "./master_key.ts";
import { lockDataDir, openDatabaseAtStart, prepareDataDir } from "./startup.ts";

/** Applies pending migrations and checks the master key; returns the migrations applied. */
export async function migrateDatabase(config: Config, log: Log): Promise<string[]> {
  await prepareDataDir(config.dataDir);
  using _lock = await lockDataDir(config.dataDir);
  const { db, applied } = await openDatabaseAtStart(config, log);
  try {
    const { key } = await openMasterKey(config, db, log);
    key.fill(0);
    return applied;
  } finally {
    await db.close();
  }
}
