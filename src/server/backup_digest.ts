/**
 * The digest a backup's seal signs (`backup_seal.ts`): a sha256 over everything the database
 * holds but its seal table — its schema (`sqlite_schema`'s type, name, tbl_name and sql, in
 * order), its user_version and application_id, and every row of every table in rowid (or primary
 * key) order — in an encoding where every value carries its storage class, and text and blobs
 * their length, so no two different databases encode alike. Text is read as its stored bytes.
 * The work yields to the event loop every few ms (the server digests on its main thread) and
 * stops at a deadline (restore bounds its checks).
 */
import type { DatabaseSync, StatementSync } from "node:sqlite";
import { sha256 } from "@noble/hashes/sha2.js";

/** The table holding a backup's seal (one row), which the digest leaves out. */
export const SEAL_TABLE = "backup_seal";

/** Longest stretch of digest work between two yields to the event loop, in ms. */
const DEFAULT_SLICE_MS = 10;
/** Rows digested between two looks at the clock. */
const ROWS_PER_CLOCK_CHECK = 256;
/** Bytes gathered before they are hashed. */
const BUFFER_BYTES = 64 * 1024;

const encoder = new TextEncoder();

/** Raised when a digest outlives its deadline. */
export class DigestDeadlineError extends Error {
  override name = "DigestDeadlineError";
}

/** Options of {@link backupDigest}. */
export interface DigestOptions {
  /** `performance.now()` time after which the digest stops with {@link DigestDeadlineError}. */
  deadline?: number;
  /** Longest stretch of work between yields to the event loop, in ms. Default 10. */
  sliceMs?: number;
}

/**
 * The sha256 of the schema and every row of the database open as `db`, without the seal table
 * (see the module doc). Yields to the event loop every `sliceMs`; fails past `deadline`.
 */
export async function backupDigest(
  db: DatabaseSync,
  options: DigestOptions = {},
): Promise<Uint8Array> {
  const clock = new Clock(options);
  const out = new DigestWriter();
  out.text("keycast backup digest v1");
  const schema = db.prepare(
    "select type, name, tbl_name, sql from sqlite_schema " +
      `where not (type = 'table' and name = '${SEAL_TABLE}') order by type, name, tbl_name, sql`,
  );
  for (const row of schema.iterate()) {
    out.tag(Tag.Entry);
    for (const value of [row.type, row.name, row.tbl_name, row.sql]) out.value(value);
  }
  for (const pragma of ["user_version", "application_id"]) {
    out.text(pragma);
    out.value(readBig(db.prepare(`pragma ${pragma}`)).at(0)?.[pragma] ?? null);
  }
  const tables = db.prepare(
    `select name, sql from sqlite_schema where type = 'table' and name <> '${SEAL_TABLE}' ` +
      "order by name",
  ).all();
  for (const { name, sql } of tables) {
    if (typeof name !== "string") throw new Error("Cannot digest the database: a nameless table");
    if (typeof sql === "string" && /^\s*create\s+virtual\b/i.test(sql)) {
      throw new Error(`Cannot digest the database: "${name}" is a virtual table`);
    }
    await digestTable(db, name, out, clock);
  }
  return out.finish();
}

/** Writes the rows of table `name`, in rowid order (or primary key order WITHOUT ROWID). */
async function digestTable(
  db: DatabaseSync,
  name: string,
  out: DigestWriter,
  clock: Clock,
): Promise<void> {
  const info = db.prepare("select name, pk from pragma_table_info(?) order by cid").all(name);
  const columns = info.map((column) => String(column.name));
  const withoutRowid = db.prepare(
    "select wr from pragma_table_list where schema = 'main' and " +
      "name = ?",
  ).get(name)?.wr === 1;
  const primaryKey = info.filter((column) => Number(column.pk) > 0)
    .sort((a, b) => Number(a.pk) - Number(b.pk)).map((column) => quote(String(column.name)));
  const rowid = withoutRowid ? undefined : ["_rowid_", "rowid", "oid"]
    .find((alias) => !columns.some((column) => column.toLowerCase() === alias));
  if (!withoutRowid && rowid === undefined) {
    throw new Error(`Cannot digest the database: table "${name}" hides its rowid`);
  }
  const selected = columns.flatMap((column, i) => {
    const c = quote(column);
    return [
      `typeof(${c}) as t${i}`,
      `case typeof(${c}) when 'text' then cast(${c} as blob) ` +
      `else ${c} end as v${i}`,
    ];
  });
  const order = rowid ?? primaryKey.join(", ");
  const statement = db.prepare(
    `select ${rowid ? `${rowid} as r, ` : ""}${selected.join(", ")} from ${quote(name)} ` +
      `order by ${order}`,
  );
  statement.setReadBigInts(true);
  out.tag(Tag.Table);
  out.text(name);
  out.integer(BigInt(columns.length));
  for (const column of columns) out.text(column);
  let rows = 0;
  for (const row of statement.iterate()) {
    out.tag(Tag.Row);
    if (rowid) out.value(row.r ?? null);
    for (let i = 0; i < columns.length; i++) {
      const value = row[`v${i}`] ?? null;
      // A text value arrives as its bytes (cast as blob): exact, whatever the encoding.
      if (row[`t${i}`] === "text" && value instanceof Uint8Array) out.textBytes(value);
      else out.value(value);
    }
    if (++rows % ROWS_PER_CLOCK_CHECK === 0) await clock.tick();
  }
  out.tag(Tag.TableEnd);
  out.integer(BigInt(rows));
  await clock.tick();
}

function readBig(statement: StatementSync): Record<string, unknown>[] {
  statement.setReadBigInts(true);
  return statement.all();
}

/** An SQL identifier, quoted. */
function quote(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/** Yields to the event loop every `sliceMs` and enforces the deadline. */
class Clock {
  readonly #deadline: number;
  readonly #sliceMs: number;
  #sliceStart = performance.now();

  constructor(options: DigestOptions) {
    this.#deadline = options.deadline ?? Infinity;
    this.#sliceMs = options.sliceMs ?? DEFAULT_SLICE_MS;
  }

  async tick(): Promise<void> {
    const now = performance.now();
    if (now > this.#deadline) throw new DigestDeadlineError("The digest outlived its deadline");
    if (now - this.#sliceStart < this.#sliceMs) return;
    await new Promise<void>((resolve) => setTimeout(resolve, 0));
    this.#sliceStart = performance.now();
  }
}

/** Type tags of the digest's encoding: every value and every frame starts with one. */
const Tag = {
  Null: 0x00,
  Integer: 0x01,
  Real: 0x02,
  Text: 0x03,
  Blob: 0x04,
  /** A schema entry: type, name, tbl_name, sql. */
  Entry: 0x10,
  /** A table: its name, column count and column names; then its rows. */
  Table: 0x11,
  /** A row: its rowid (unless WITHOUT ROWID), then one value per column. */
  Row: 0x12,
  /** The end of a table's rows, then their count. */
  TableEnd: 0x13,
} as const;
type Tag = typeof Tag[keyof typeof Tag];

/**
 * An unambiguous encoding fed to sha256: a tag byte per value, integers as 8 bytes (signed, big
 * endian), reals as their 8 IEEE-754 bytes, text (UTF-8) and blobs as a 4-byte length and their
 * bytes. No two different sequences of values encode to the same bytes.
 */
export class DigestWriter {
  readonly #hash = sha256.create();
  readonly #buffer = new Uint8Array(BUFFER_BYTES);
  readonly #view = new DataView(this.#buffer.buffer);
  #used = 0;

  /** A frame's or a value's tag byte. */
  tag(tag: Tag): void {
    this.#room(1);
    this.#buffer[this.#used++] = tag;
  }

  /** An INTEGER: 8 bytes, signed, big endian. */
  integer(value: bigint): void {
    this.tag(Tag.Integer);
    this.#room(8);
    this.#view.setBigInt64(this.#used, value);
    this.#used += 8;
  }

  /** A REAL: its 8 IEEE-754 bytes, big endian. */
  real(value: number): void {
    this.tag(Tag.Real);
    this.#room(8);
    this.#view.setFloat64(this.#used, value);
    this.#used += 8;
  }

  /** A TEXT, as UTF-8. */
  text(value: string): void {
    this.textBytes(encoder.encode(value));
  }

  /** A TEXT, as the bytes SQLite stores. */
  textBytes(bytes: Uint8Array): void {
    this.#bytes(Tag.Text, bytes);
  }

  /** A BLOB. */
  blob(bytes: Uint8Array): void {
    this.#bytes(Tag.Blob, bytes);
  }

  /** A value as `node:sqlite` returns it with big integers on. */
  value(value: unknown): void {
    if (value === null) this.tag(Tag.Null);
    else if (typeof value === "bigint") this.integer(value);
    else if (typeof value === "number") this.real(value);
    else if (typeof value === "string") this.text(value);
    else if (value instanceof Uint8Array) this.blob(value);
    else throw new Error(`Cannot digest a value of type ${typeof value}`);
  }

  /** The sha256 of everything written; the writer is done. */
  finish(): Uint8Array {
    this.#flush();
    return this.#hash.digest();
  }

  #bytes(tag: Tag, bytes: Uint8Array): void {
    this.tag(tag);
    this.#room(4);
    this.#view.setUint32(this.#used, bytes.byteLength);
    this.#used += 4;
    if (bytes.byteLength > BUFFER_BYTES - this.#used) {
      this.#flush();
      this.#hash.update(bytes);
      return;
    }
    this.#buffer.set(bytes, this.#used);
    this.#used += bytes.byteLength;
  }

  #room(bytes: number): void {
    if (this.#used + bytes > BUFFER_BYTES) this.#flush();
  }

  #flush(): void {
    if (this.#used === 0) return;
    this.#hash.update(this.#buffer.subarray(0, this.#used));
    this.#used = 0;
  }
}
