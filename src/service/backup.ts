/**
 * Backups of the embedded database, taken while the server runs. SQLite's online backup writes a
 * consistent copy into a fresh `.backup-*` directory inside the data dir (the only place the
 * SQLite worker may write); the copy is opened and handed out as a stream, never read into memory
 * whole. Where the OS allows it the file is unlinked as soon as it is open, so nothing stays on
 * disk whatever happens to the download; elsewhere it is removed when the stream ends, is
 * cancelled (the client went away) or outlives its deadline. A backup holds the secrets sealed,
 * never the master key. PostgreSQL is backed up with pg_dump: a `conflict` error says how.
 */
import { join } from "node:path";
import { SnapshotUnsupportedError } from "../db/db.ts";
import type { Log } from "../log.ts";
import type { ServiceDeps } from "./deps.ts";
import { conflict, unavailable } from "./errors.ts";

/** Default time one backup download may take, in ms (10 min); then the stream fails. */
export const BACKUP_DOWNLOAD_TIMEOUT_MS = 10 * 60_000;

/** Prefix of the temp dirs snapshots are written in, inside the data dir. */
export const BACKUP_TEMP_PREFIX = ".backup-";

/** Bytes read from the snapshot per stream chunk. */
const CHUNK_BYTES = 64 * 1024;

/** A snapshot ready to be sent. */
export interface Backup {
  /** The file's bytes: reading it to the end, cancelling it or its deadline releases the file. */
  body: ReadableStream<Uint8Array>;
  /** Size of the file, in bytes. */
  size: number;
  /** When the snapshot was taken. */
  takenAt: Date;
}

/** Options of {@link takeBackup}. */
export interface BackupOptions {
  /** Time the whole download may take, in ms. Default {@link BACKUP_DOWNLOAD_TIMEOUT_MS}. */
  timeoutMs?: number;
}

/** Takes a consistent snapshot of the database and returns it as a stream (see the module doc). */
export async function takeBackup(
  deps: Pick<ServiceDeps, "snapshots" | "log" | "now">,
  options: BackupOptions = {},
): Promise<Backup> {
  const source = deps.snapshots;
  if (!source) throw unavailable("Backups are not available on this server");
  const started = performance.now();
  const takenAt = new Date(deps.now());
  const dir = await Deno.makeTempDir({ dir: source.dir, prefix: BACKUP_TEMP_PREFIX });
  const path = join(dir, "keycast.db");
  let file: Deno.FsFile;
  let size: number;
  try {
    await source.snapshot(path);
    file = await Deno.open(path, { read: true });
  } catch (error) {
    await removeDir(dir, deps.log);
    if (error instanceof SnapshotUnsupportedError) throw conflict(error.message);
    throw error;
  }
  try {
    size = (await file.stat()).size;
  } catch (error) {
    file.close();
    await removeDir(dir, deps.log);
    throw error;
  }
  // POSIX keeps an unlinked file readable through its open handle; Windows refuses, and the
  // directory goes when the stream is released instead.
  const unlinked = await Deno.remove(dir, { recursive: true }).then(() => true, () => false);
  deps.log({
    level: "info",
    ns: "service.backup",
    msg: "Took a backup",
    bytes: size,
    ms: Math.round(performance.now() - started),
  });
  return { body: fileStream(file, dir, unlinked, deps.log, options), size, takenAt };
}

/** Streams `file` in chunks; closes it (and removes `dir` unless `unlinked`) exactly once. */
function fileStream(
  file: Deno.FsFile,
  dir: string,
  unlinked: boolean,
  log: Log,
  options: BackupOptions,
): ReadableStream<Uint8Array> {
  const timeoutMs = options.timeoutMs ?? BACKUP_DOWNLOAD_TIMEOUT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let released = false;
  const release = async () => {
    if (released) return;
    released = true;
    clearTimeout(timer);
    file.close();
    if (!unlinked) await removeDir(dir, log);
  };
  return new ReadableStream<Uint8Array>({
    start(controller) {
      timer = setTimeout(() => {
        log({
          level: "warn",
          ns: "service.backup",
          msg: "A backup download took too long: stopped it",
          timeoutMs,
        });
        controller.error(new Error(`The backup download took longer than ${timeoutMs} ms`));
        void release();
      }, timeoutMs);
    },
    async pull(controller) {
      const chunk = new Uint8Array(CHUNK_BYTES);
      let read: number | null;
      try {
        read = await file.read(chunk);
      } catch (error) {
        await release();
        throw error;
      }
      if (read === null) {
        controller.close();
        await release();
        return;
      }
      controller.enqueue(chunk.subarray(0, read));
    },
    cancel: release,
  });
}

/**
 * Removes the `.backup-*` directories a process that died while taking a snapshot left in
 * `dataDir`; returns how many. Call it holding the data dir lock, before any backup can start.
 */
export async function removeBackupLeftovers(dataDir: string, log: Log): Promise<number> {
  let removed = 0;
  for await (const entry of Deno.readDir(dataDir)) {
    if (!entry.isDirectory || !entry.name.startsWith(BACKUP_TEMP_PREFIX)) continue;
    if (await removeDir(join(dataDir, entry.name), log)) removed++;
  }
  return removed;
}

/** Removes `dir` and what is in it; logs (never throws) when that fails. */
async function removeDir(dir: string, log: Log): Promise<boolean> {
  try {
    await Deno.remove(dir, { recursive: true });
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return true;
    log({
      level: "warn",
      ns: "service.backup",
      msg: "Cannot remove a backup's temp directory",
      path: dir,
      error,
    });
    return false;
  }
}
