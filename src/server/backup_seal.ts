/**
 * The seal of a backup: an HMAC-SHA256, under a key derived from the master key, of the backup's
 * digest (`backup_digest.ts`: its schema and every row of every table), its seal version and
 * time, kept in the snapshot's own `backup_seal` table, which the digest leaves out. The server
 * seals every snapshot before it sends it (`src/server.ts`); restore recomputes the digest on a
 * read-only, defensive connection (`restore_inspect.ts`) and refuses a file whose seal does not
 * match. Secrets were already sealed one by one; the seal covers the rest, like which client is
 * bound to which key, and the schema, so no trigger or view can be slipped in.
 */
import { DatabaseSync } from "node:sqlite";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { encodeHex } from "../util/hex.ts";
import { backupDigest, type DigestOptions, DigestWriter, SEAL_TABLE } from "./backup_digest.ts";

export { DigestDeadlineError, SEAL_TABLE } from "./backup_digest.ts";

/** The seal format this keycast writes and reads. */
export const SEAL_VERSION = 1n;

/** How SQLite stores the seal table's definition: any other text is not keycast's. */
export const SEAL_TABLE_SQL =
  "CREATE TABLE backup_seal (version integer not null, sealed_at integer not null, " +
  "mac text not null) strict";

const encoder = new TextEncoder();

/** What {@link BackupSealer.verify} found. */
export type SealVerdict =
  /** The seal matches what the file holds. */
  | { status: "valid"; sealedAt: Date }
  /** No seal: a backup from a keycast that did not seal them, or a copied database file. */
  | { status: "unsealed" }
  /** A seal this keycast does not know (from a newer keycast). */
  | { status: "unknown-version"; version: string }
  /** A seal that does not match: the file changed after it was sealed, or another master key. */
  | { status: "invalid"; why: string };

/** Seals snapshots and checks seals, under a key derived from the master key. */
export class BackupSealer {
  readonly #key: Uint8Array;

  /** `masterKey` is only used to derive this purpose's own key; the caller may zero it after. */
  constructor(masterKey: Uint8Array) {
    this.#key = hmac(sha256, masterKey, encoder.encode("keycast/backup-seal/v1"));
  }

  /**
   * Seals the snapshot at `path` (a file nothing else uses), sealed at `sealedAt` (Unix ms). The
   * file is switched to a rollback journal first, so the backup is one file with no WAL to go
   * with it; the digest yields to the event loop every few ms.
   */
  async seal(path: string, sealedAt: number): Promise<void> {
    const db = new DatabaseSync(path);
    try {
      db.exec("pragma journal_mode = delete");
      // A copy about to be streamed and deleted: no fsync on the main thread.
      db.exec("pragma synchronous = off");
      const digest = await backupDigest(db);
      const at = BigInt(Math.trunc(sealedAt));
      db.exec(SEAL_TABLE_SQL);
      db.prepare(`insert into ${SEAL_TABLE} (version, sealed_at, mac) values (?, ?, ?)`)
        .run(SEAL_VERSION, at, encodeHex(this.#mac(SEAL_VERSION, at, digest)));
    } finally {
      db.close();
    }
  }

  /**
   * Checks the seal of the backup open as `db`. Call it only once the schema is known to hold no
   * trigger, view or virtual table (`restore_inspect.ts`): the digest reads every table.
   */
  async verify(db: DatabaseSync, options: DigestOptions = {}): Promise<SealVerdict> {
    const table = db.prepare("select type, sql from sqlite_schema where name = ?").get(SEAL_TABLE);
    if (table === undefined) return { status: "unsealed" };
    if (table.type !== "table" || table.sql !== SEAL_TABLE_SQL) {
      return { status: "invalid", why: `its ${SEAL_TABLE} table is not keycast's` };
    }
    const read = db.prepare(`select version, sealed_at, mac from ${SEAL_TABLE} limit 2`);
    read.setReadBigInts(true);
    const rows = read.all();
    const row = rows[0];
    if (rows.length !== 1 || row === undefined) {
      return { status: "invalid", why: `its ${SEAL_TABLE} table has ${rows.length} rows, not 1` };
    }
    const { version, sealed_at: sealedAt, mac } = row;
    if (typeof version !== "bigint" || typeof sealedAt !== "bigint" || typeof mac !== "string") {
      return { status: "invalid", why: "its seal is malformed" };
    }
    if (version !== SEAL_VERSION) return { status: "unknown-version", version: String(version) };
    if (!/^[0-9a-f]{64}$/.test(mac)) return { status: "invalid", why: "its seal is malformed" };
    const expected = this.#mac(version, sealedAt, await backupDigest(db, options));
    if (!equalBytes(expected, decodeHex(mac))) {
      return { status: "invalid", why: "its seal does not match what it holds" };
    }
    return { status: "valid", sealedAt: new Date(Number(sealedAt)) };
  }

  #mac(version: bigint, sealedAt: bigint, digest: Uint8Array): Uint8Array {
    const input = new DigestWriter();
    input.text("keycast backup seal");
    input.integer(version);
    input.integer(sealedAt);
    input.blob(digest);
    return hmac(sha256, this.#key, input.finish());
  }
}

function decodeHex(hex: string): Uint8Array {
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return bytes;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  let difference = a.length ^ b.length;
  for (let i = 0; i < Math.max(a.length, b.length); i++) difference |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return difference === 0;
}
