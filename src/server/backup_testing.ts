/** SQLite files for the backup seal and digest tests. */
import { DatabaseSync } from "node:sqlite";
import { encodeHex } from "../util/hex.ts";
import { backupDigest } from "./backup_digest.ts";

/** A database file at `path` made by `statements`, closed. */
export function makeDb(path: string, statements: string): void {
  const db = new DatabaseSync(path);
  try {
    db.exec(statements);
  } finally {
    db.close();
  }
}

/** The hex digest of the database file at `path`, opened read-only. */
export async function digestOf(path: string): Promise<string> {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return encodeHex(await backupDigest(db));
  } finally {
    db.close();
  }
}
