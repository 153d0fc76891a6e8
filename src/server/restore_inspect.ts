/**
 * The read-only checks of a backup, run on the private copy before anything in it can run or be
 * written. The copy is opened read-only, in SQLite's defensive mode, with `trusted_schema` off
 * and an authorizer that lets statements only read, so nothing the file declares can act; then,
 * in this order, each failing with one line ({@link RestoreError}):
 *
 * 1–3. `restore_schema.ts`: no trigger, view or virtual table (keycast creates none); keycast's
 *    `schema_migrations`, recording keycast's first migrations, none newer than this keycast;
 *    exactly the schema those migrations give a fresh database;
 * 4. `integrity_check`: the pages, indexes agreeing with their tables, the CHECK constraints;
 * 5. the master key check value, when the file has one, matches the given master key;
 * 6. the seal (`backup_seal.ts`) matches; an unsealed file only with `trustUnsealed`.
 *
 * Reading a file whose schema passed 1–3 is linear in its size; the digest also stops at the
 * deadline, and the checks between steps, so a hostile file cannot hold a restore for long.
 */
import { DatabaseSync } from "node:sqlite";
import type { Migration } from "../db/migrate.ts";
import { keyCheckValue } from "../vault/key_check.ts";
import { BackupSealer, DigestDeadlineError } from "./backup_seal.ts";
import { KEY_ID } from "./master_key.ts";
import { clip, notBackup, RestoreError, wrongMasterKey } from "./restore_check.ts";
import { checkSchema, type SchemaEntry } from "./restore_schema.ts";

/** What {@link inspectBackup} needs besides the file. */
export interface InspectOptions {
  /** The backup's path as the user gave it, for messages. */
  file: string;
  /** The master key. */
  key: Uint8Array;
  /** Where the master key came from, for messages. */
  where: string;
  /** Accept a file without a seal (a backup from an older keycast). */
  trustUnsealed: boolean;
  /** Time the checks may take, in ms. */
  timeoutMs: number;
  /** A private directory for the fresh database the schema is compared with. */
  scratchDir: string;
}

/** What a backup that passed {@link inspectBackup} is. */
export interface Inspection {
  /** This keycast's migrations (the file's are a subset of them). */
  migrations: Migration[];
  /** True when its seal was verified; false for an unsealed file let in by `trustUnsealed`. */
  sealed: boolean;
}

/** The pragmas the checks read; the authorizer refuses any other. */
const READ_PRAGMAS = new Set([
  "application_id",
  "integrity_check",
  "table_info",
  "table_list",
  "user_version",
]);

/** SQLite's authorizer codes (sqlite3.h); the typings of `node:sqlite` lack some of them. */
const AUTH = { OK: 0, DENY: 1, PRAGMA: 19, READ: 20, SELECT: 21, FUNCTION: 31 } as const;

/** What this runtime's `node:sqlite` offers beyond its published types, checked when used. */
interface Hardening {
  enableDefensive?: (active: boolean) => void;
  setAuthorizer?: (callback: (action: number, first: string | null) => number) => void;
}

/** Checks the backup copy at `staged` (see the module doc) without writing to it. */
export async function inspectBackup(staged: string, options: InspectOptions): Promise<Inspection> {
  const { file } = options;
  const deadline = performance.now() + options.timeoutMs;
  let db: DatabaseSync;
  try {
    db = openReadOnly(staged);
  } catch (error: unknown) {
    throw notBackup(file, "SQLite cannot open it", error);
  }
  try {
    const { schema, known } = await checkSchema(db, file, options.scratchDir);
    checkTime(deadline, options);
    checkIntegrity(db, file);
    checkTime(deadline, options);
    await checkKey(db, schema, options);
    const sealed = await checkSeal(db, deadline, options);
    return { migrations: known, sealed };
  } catch (error: unknown) {
    if (error instanceof RestoreError) throw error;
    if (error instanceof DigestDeadlineError) throw tooLong(options);
    throw new RestoreError(`Cannot restore "${file}": SQLite cannot read it (${describe(error)})`);
  } finally {
    db.close();
  }
}

/** Opens `path` read-only with every defense this runtime's SQLite offers. */
function openReadOnly(path: string): DatabaseSync {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const hardening = db as unknown as Hardening;
    hardening.enableDefensive?.(true);
    db.exec("pragma trusted_schema = off");
    db.exec("pragma cell_size_check = on");
    hardening.setAuthorizer?.((action, first) => {
      if (action === AUTH.SELECT || action === AUTH.READ || action === AUTH.FUNCTION) {
        return AUTH.OK;
      }
      if (action === AUTH.PRAGMA && first !== null && READ_PRAGMAS.has(first.toLowerCase())) {
        return AUTH.OK;
      }
      return AUTH.DENY;
    });
    return db;
  } catch (error: unknown) {
    db.close();
    throw error;
  }
}

function checkIntegrity(db: DatabaseSync, file: string): void {
  const verdict = db.prepare("pragma integrity_check(20)").all()
    .map((row) => String(row.integrity_check)).join("; ");
  if (verdict !== "ok") {
    throw new RestoreError(`Cannot restore "${file}": the file is damaged (${clip(verdict)})`);
  }
}

/** Refuses a master key other than the one whose check value the file holds (when it has one). */
async function checkKey(
  db: DatabaseSync,
  schema: SchemaEntry[],
  options: InspectOptions,
): Promise<void> {
  if (!schema.some((entry) => entry.type === "table" && entry.name === "vault_keys")) return;
  const stored = db.prepare("select check_value from vault_keys where key_id = ?").get(KEY_ID)
    ?.check_value;
  if (typeof stored !== "string") return; // no check value: restore_check opens a sealed row
  const expected = await keyCheckValue(options.key, KEY_ID);
  let difference = stored.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) {
    difference |= expected.charCodeAt(i) ^ (stored.charCodeAt(i) | 0);
  }
  if (difference !== 0) throw wrongMasterKey(options.file, options.where);
}

/** Verifies the seal; an unsealed file passes only with `trustUnsealed`. */
async function checkSeal(
  db: DatabaseSync,
  deadline: number,
  options: InspectOptions,
): Promise<boolean> {
  const { file } = options;
  const verdict = await new BackupSealer(options.key).verify(db, { deadline });
  switch (verdict.status) {
    case "valid":
      return true;
    case "unsealed":
      if (options.trustUnsealed) return false;
      throw new RestoreError(
        `Cannot restore "${file}": it is not sealed, so nothing shows it is unchanged since it ` +
          "was taken (a backup from a keycast before sealing, or a copied database file); " +
          "pass --trust-unsealed to restore it anyway, only if you trust where it came from",
      );
    case "unknown-version":
      throw new RestoreError(
        `Cannot restore "${file}": its seal has version ${clip(verdict.version, 20)}, which ` +
          "this keycast does not know; restore it with the keycast that took it, or a newer one",
      );
    case "invalid":
      throw new RestoreError(
        `Cannot restore "${file}": ${verdict.why}: it was changed after keycast sealed it ` +
          "(or sealed by a server with another master key); restore a backup you trust",
      );
  }
}

function checkTime(deadline: number, options: InspectOptions): void {
  if (performance.now() > deadline) throw tooLong(options);
}

function tooLong(options: InspectOptions): RestoreError {
  return new RestoreError(
    `Cannot restore "${options.file}": checking it took longer than ${options.timeoutMs} ms, ` +
      "the most a restore allows",
  );
}

function describe(error: unknown): string {
  return clip(error instanceof Error ? error.message : String(error));
}
