/** What the server and the `backup` command agree on about backup files. */

/** The media type of a backup: an SQLite database file. */
export const BACKUP_MEDIA_TYPE = "application/vnd.sqlite3";

/** The first 16 bytes of every SQLite database file. */
export const SQLITE_HEADER = new TextEncoder().encode("SQLite format 3\0");

/** `at` as a compact UTC time for file names, to the second: `20250102T030405Z`. */
export function fileTimestamp(at: Date): string {
  return at.toISOString().replace(/\.\d+Z$/, "Z").replace(/[-:]/g, "");
}

/** The file name a backup taken at `at` is offered under: `keycast-20250102T030405Z.db`. */
export function backupFileName(at: Date): string {
  return `keycast-${fileTimestamp(at)}.db`;
}

/** Whether `bytes` begin with the SQLite file header. */
export function hasSqliteHeader(bytes: Uint8Array): boolean {
  return bytes.length >= SQLITE_HEADER.length &&
    SQLITE_HEADER.every((byte, i) => bytes[i] === byte);
}
