/**
 * The master key at start, in two steps around opening the database (`database.ts`):
 * {@link readMasterKey} before any database is created — so a key file others can read, or a bad
 * key, stops the start with nothing created — and {@link openMasterKey} once the database is
 * open and locked: a missing key file is created only for a database without sealed secrets,
 * then the key is checked against the database ({@link checkMasterKey}). A missing key for a
 * database with secrets, or a key that is not the one those secrets were sealed with, stops
 * startup with one line saying which.
 */
import type { Config } from "../config/config.ts";
import type { Db } from "../db/db.ts";
import type { Log } from "../log.ts";
import { checkMasterKey, type KeyCheck, sealedState } from "../vault/key_check.ts";
import {
  type LoadedMasterKey,
  loadMasterKey,
  MasterKeyError,
  MasterKeyMissingError,
} from "../vault/master_key.ts";
import { Vault } from "../vault/vault.ts";
import { StartupError } from "./startup.ts";

/** The master key id new secrets are sealed under. */
export const KEY_ID = 1;

/** The master key, checked against the database. */
export interface OpenedMasterKey {
  /** The 32 key bytes; the caller zeroes them once workers have them. */
  key: Uint8Array;
  /** A vault sealing under {@link KEY_ID} with it. */
  vault: Vault;
  /** What the check against the database found. */
  check: KeyCheck;
  /** Where the key came from. */
  source: LoadedMasterKey["source"];
}

/**
 * The master key from KEYCAST_MASTER_KEY or the key file, its permissions and content checked;
 * undefined when the file does not exist yet (never created here).
 */
export async function readMasterKey(config: Config): Promise<LoadedMasterKey | undefined> {
  try {
    return await loadMasterKey({
      fromEnv: config.masterKeyBase64,
      file: config.masterKeyFile,
      create: false,
    });
  } catch (error: unknown) {
    if (error instanceof MasterKeyMissingError) return undefined;
    throw startupError(error);
  }
}

/**
 * The master key checked against `db` (migrated or not), and a vault over it; `loaded` is what
 * {@link readMasterKey} found. `check` is "unrecorded" when the schema has no place for the check
 * value yet: call {@link recordMasterKeyCheck} once migrated.
 */
export async function openMasterKey(
  config: Config,
  db: Db,
  log: Log,
  loaded: LoadedMasterKey | undefined,
): Promise<OpenedMasterKey> {
  if (loaded === undefined) {
    const state = await sealedState(db, KEY_ID);
    if (state.checkValue !== undefined || state.hasSealedRows) {
      throw new StartupError(
        `Cannot start: the master key file "${config.masterKeyFile}" is missing, but the database ` +
          "holds secrets sealed with a master key; restore that file (or set KEYCAST_MASTER_KEY). " +
          "keycast does not create a new key for a database that has secrets",
      );
    }
    loaded = await loadMasterKey({ fromEnv: config.masterKeyBase64, file: config.masterKeyFile })
      .catch((cause: unknown) => {
        throw startupError(cause);
      });
    if (loaded.created) {
      log({
        level: "warn",
        ns: "serve",
        msg: "Created a new master key file: back it up, sealed keys cannot be opened without it",
        path: config.masterKeyFile,
      });
    }
  }
  const vault = await Vault.create(loaded.key, KEY_ID);
  const check = await checkMasterKey(db, vault, loaded.key);
  if (check.status === "mismatch") {
    loaded.key.fill(0);
    throw mismatch(config, loaded.source);
  }
  if (check.status === "verified") logVerified(log);
  return { key: loaded.key, vault, check, source: loaded.source };
}

/**
 * Checks the key again once the database is migrated, which stores its check value; for a key
 * whose {@link openMasterKey} check was "unrecorded".
 */
export async function recordMasterKeyCheck(
  config: Config,
  db: Db,
  log: Log,
  opened: OpenedMasterKey,
): Promise<void> {
  const check = await checkMasterKey(db, opened.vault, opened.key);
  if (check.status === "mismatch") throw mismatch(config, opened.source);
  if (check.status === "verified") logVerified(log);
}

function mismatch(config: Config, source: LoadedMasterKey["source"]): StartupError {
  const where = source === "env" ? "KEYCAST_MASTER_KEY" : `"${config.masterKeyFile}"`;
  return new StartupError(
    `Cannot start: the master key in ${where} is not the one this database's secrets were ` +
      `sealed with (key id ${KEY_ID}); use the master key that belongs to this database`,
  );
}

function logVerified(log: Log): void {
  log({ level: "info", ns: "serve", msg: "Recorded the master key check", keyId: KEY_ID });
}

function startupError(error: unknown): unknown {
  return error instanceof MasterKeyError
    ? new StartupError(error.message, { cause: error })
    : error;
}
