/**
 * The master key at start: read (never created for a database that already holds sealed
 * secrets), then checked against the database ({@link checkMasterKey}). A missing key for a
 * database with secrets, or a key that is not the one those secrets were sealed with, stops
 * startup with one line saying which.
 */
import type { Config } from "../config/config.ts";
import type { Db } from "../db/db.ts";
import type { Log } from "../log.ts";
import { checkMasterKey, sealedState } from "../vault/key_check.ts";
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

/** The checked master key and a vault over it. The caller zeroes `key` once workers have it. */
export async function openMasterKey(
  config: Config,
  db: Db,
  log: Log,
): Promise<{ key: Uint8Array; vault: Vault }> {
  const source = { fromEnv: config.masterKeyBase64, file: config.masterKeyFile };
  let loaded: LoadedMasterKey;
  try {
    loaded = await loadMasterKey({ ...source, create: false });
  } catch (error: unknown) {
    if (!(error instanceof MasterKeyMissingError)) throw startupError(error);
    const state = await sealedState(db, KEY_ID);
    if (state.checkValue !== undefined || state.hasSealedRows) {
      throw new StartupError(
        `Cannot start: the master key file "${config.masterKeyFile}" is missing, but the database ` +
          "holds secrets sealed with a master key; restore that file (or set KEYCAST_MASTER_KEY). " +
          "keycast does not create a new key for a database that has secrets",
        { cause: error },
      );
    }
    loaded = await loadMasterKey(source).catch((cause: unknown) => {
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
    const where = loaded.source === "env" ? "KEYCAST_MASTER_KEY" : `"${config.masterKeyFile}"`;
    throw new StartupError(
      `Cannot start: the master key in ${where} is not the one this database's secrets were ` +
        `sealed with (key id ${KEY_ID}); use the master key that belongs to this database`,
    );
  }
  if (check.status === "verified") {
    log({ level: "info", ns: "serve", msg: "Recorded the master key check", keyId: KEY_ID });
  }
  return { key: loaded.key, vault };
}

function startupError(error: unknown): unknown {
  return error instanceof MasterKeyError
    ? new StartupError(error.message, { cause: error })
    : error;
}
