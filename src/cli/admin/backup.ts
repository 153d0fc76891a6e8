/**
 * `keycast backup`: saves a consistent snapshot of a running server's embedded database
 * (`POST /api/backup`) to a file — written under a temp name with mode 0600, checked (an SQLite
 * file, every byte the server announced), then renamed into place, never over an existing file
 * without `--force` — or to standard output with `--output -`. The snapshot holds secrets sealed
 * with the master key, which is not in it: the command says so every time. A server on
 * PostgreSQL answers with the pg_dump command to use instead (exit 1).
 */
import { basename, dirname, join } from "node:path";
import { Config } from "../../config/config.ts";
import { backupFileName, hasSqliteHeader, SQLITE_HEADER } from "../../domain/backup.ts";
import { encodeHex } from "../../util/hex.ts";
import type { BackupDownload } from "../client.ts";
import { EXIT } from "../io.ts";
import { type Call, CommandFailure, defineCommand, stringFlag, UsageError } from "./common.ts";

/** `keycast backup`. */
export const backupCommand = defineCommand({
  name: "backup",
  summary: "Save a consistent snapshot of a running server's database (embedded SQLite)",
  usage: "keycast backup [--output FILE|-] [--force]",
  flags: [
    {
      name: "output",
      value: "FILE|-",
      help: "Where to write the backup (mode 0600); - for standard output. " +
        "Default keycast-<UTC time>.db in the current directory",
    },
    { name: "force", boolean: true, help: "Replace FILE when it exists" },
  ],
  notes: "The backup holds the keys sealed with the master key, not the master key itself: back\n" +
    "up <data-dir>/master.key (or KEYCAST_MASTER_KEY) separately. The server seals each backup\n" +
    "with a key derived from the master key; keycast restore refuses one changed since.\n" +
    "A server on PostgreSQL is backed up with pg_dump instead.",
  run: async (call) => {
    if (call.positionals.length > 0) {
      throw new UsageError([`Unexpected argument "${call.positionals[0]}"`]);
    }
    const output = stringFlag(call.values, "output") ?? backupFileName(new Date());
    const force = call.values.get("force") === true;
    if (output === "-") return await toStdout(call);
    await checkTarget(output, force);
    const client = await call.client();
    const size = await client.downloadBackup((download) => saveFile(download, output, force));
    call.ctx.io.out(`Wrote the backup to ${output} (${size} bytes)\n`);
    call.ctx.io.err(reminder(call));
    return EXIT.ok;
  },
});

async function toStdout(call: Call): Promise<number> {
  const out = call.ctx.io.binaryOut();
  if (out.isTerminal) {
    throw new UsageError([
      "Cannot write a backup to a terminal: redirect standard output to a file, or use " +
      "--output FILE",
    ]);
  }
  const client = await call.client();
  const size = await client.downloadBackup(async (download) => {
    const writer = out.writable.getWriter();
    try {
      return await copyChecked(download, (chunk) => writer.write(chunk), "standard output");
    } finally {
      writer.releaseLock();
    }
  });
  call.ctx.io.err(`Wrote the backup to standard output (${size} bytes)\n`);
  call.ctx.io.err(reminder(call));
  return EXIT.ok;
}

/** Fails (usage) when `output` exists without `--force`, or its directory does not. */
async function checkTarget(output: string, force: boolean): Promise<void> {
  const existing = await Deno.lstat(output).catch(notFoundAsUndefined);
  if (existing?.isDirectory) {
    throw new UsageError([
      `Cannot write the backup to "${output}": it is a directory; name a file with --output`,
    ]);
  }
  if (existing && !force) {
    throw new UsageError([
      `Cannot write the backup to "${output}": the file exists; pass --force to replace it, ` +
      "or choose another --output",
    ]);
  }
  const dir = await Deno.stat(dirname(output)).catch(notFoundAsUndefined);
  if (!dir?.isDirectory) {
    throw new UsageError([
      `Cannot write the backup to "${output}": the directory "${dirname(output)}" does not exist`,
    ]);
  }
}

/** Writes the download to a temp file beside `output` (mode 0600), checks it, renames it. */
async function saveFile(download: BackupDownload, output: string, force: boolean): Promise<number> {
  const suffix = encodeHex(crypto.getRandomValues(new Uint8Array(4)));
  const temp = join(dirname(output), `.${basename(output)}.partial-${suffix}`);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(temp, { write: true, createNew: true, mode: 0o600 });
  } catch (error: unknown) {
    await download.body.cancel();
    throw new CommandFailure(`Cannot write the backup to "${output}": ${describe(error)}`);
  }
  try {
    let size: number;
    try {
      size = await copyChecked(download, (chunk) => writeAll(file, chunk), `"${output}"`);
      await file.sync();
    } finally {
      file.close();
    }
    await place(temp, output, force);
    return size;
  } catch (error: unknown) {
    // Best effort: the failure below is what the user needs to see.
    await Deno.remove(temp).catch(() => undefined);
    if (error instanceof CommandFailure) throw error;
    throw new CommandFailure(`Cannot write the backup to "${output}": ${describe(error)}`);
  }
}

/**
 * Passes the download's bytes to `write`, once its first bytes proved it an SQLite file, and
 * checks that every announced byte came; returns the size.
 */
async function copyChecked(
  download: BackupDownload,
  write: (chunk: Uint8Array) => Promise<void>,
  where: string,
): Promise<number> {
  let size = 0;
  let head: Uint8Array | undefined = new Uint8Array(0);
  try {
    for await (const chunk of download.body) {
      size += chunk.byteLength;
      if (head === undefined) {
        await write(chunk);
        continue;
      }
      head = concat(head, chunk);
      if (head.byteLength < SQLITE_HEADER.byteLength) continue;
      if (!hasSqliteHeader(head)) {
        throw new CommandFailure(
          "Cannot save the backup: keycast sent something that is not an " +
            "SQLite database; nothing was written",
        );
      }
      await write(head);
      head = undefined;
    }
  } catch (error: unknown) {
    if (error instanceof CommandFailure) throw error;
    throw new CommandFailure(
      `Cannot save the backup to ${where}: the download failed after ${size} bytes ` +
        `(${describe(error)}); try again`,
    );
  }
  if (head !== undefined) {
    throw new CommandFailure(`Cannot save the backup: keycast sent ${size} bytes, not a database`);
  }
  if (download.size !== undefined && size !== download.size) {
    throw new CommandFailure(
      `Cannot save the backup to ${where}: keycast announced ${download.size} bytes but sent ` +
        `${size}; try again`,
    );
  }
  return size;
}

/** Moves `temp` to `output`; without `force`, never over a file that appeared meanwhile. */
async function place(temp: string, output: string, force: boolean): Promise<void> {
  if (force) return await Deno.rename(temp, output);
  const appeared = () =>
    new CommandFailure(
      `Cannot write the backup to "${output}": the file appeared during the download; pass ` +
        "--force to replace it, or choose another --output",
    );
  try {
    // A hard link fails when the name is taken: no window for a file created meanwhile.
    await Deno.link(temp, output);
  } catch (error: unknown) {
    if (error instanceof Deno.errors.AlreadyExists) throw appeared();
    // A file system without hard links: check, then rename.
    if (await Deno.lstat(output).catch(notFoundAsUndefined)) throw appeared();
    return await Deno.rename(temp, output);
  }
  await Deno.remove(temp);
}

/** The reminder printed after every backup: the master key is not in it. */
function reminder(call: Call): string {
  const dataDir = stringFlag(call.values, "data-dir");
  const config = new Config(call.ctx.env, new Map(dataDir ? [["data-dir", dataDir]] : []));
  return "This backup holds the keys sealed with the master key, not the master key itself: it " +
    "cannot be restored without it. Back up the server's master key separately " +
    `(${config.masterKeyFile}, or KEYCAST_MASTER_KEY) and keep it apart from the backups.\n`;
}

async function writeAll(file: Deno.FsFile, chunk: Uint8Array): Promise<void> {
  for (let offset = 0; offset < chunk.byteLength;) {
    offset += await file.write(chunk.subarray(offset));
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

function notFoundAsUndefined(error: unknown): undefined {
  if (error instanceof Deno.errors.NotFound) return undefined;
  throw error;
}

function describe(error: unknown): string {
  if (error instanceof Deno.errors.PermissionDenied) return "permission denied";
  if (error instanceof Deno.errors.NotFound) return "the directory does not exist";
  return error instanceof Error ? error.message : String(error);
}
