/**
 * Small files that hold a secret (the master key, the admin token): created once with mode 0600
 * and `createNew` (so two processes starting together cannot both write one), and read only after
 * checking they are regular, small, and inaccessible to group and others.
 */

/** Raised with a message that names the file and says how to fix it; never carries its contents. */
export class SecretFileError extends Error {
  override name = "SecretFileError";
}

/** How a secret file is described in messages, and its size bound. */
export interface SecretFileKind {
  /** e.g. "master key file". */
  what: string;
  /** Largest accepted size, in bytes. */
  maxBytes: number;
  /** Appended when the file does not exist, e.g. how to create it. */
  notFoundHint?: string;
}

/**
 * Creates `path` with mode 0600 holding `contents`, synced to disk. Returns false, writing
 * nothing, when the file already exists; a half-written file is removed.
 */
export async function createSecretFile(
  path: string,
  contents: string,
  kind: SecretFileKind,
): Promise<boolean> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
  } catch (error: unknown) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw new SecretFileError(`Cannot create ${kind.what} "${path}": ${describe(error)}`);
  }
  try {
    const bytes = new TextEncoder().encode(contents);
    let offset = 0;
    while (offset < bytes.length) offset += await file.write(bytes.subarray(offset));
    await file.sync();
  } catch (error: unknown) {
    file.close();
    // Best effort: a half-written file would only fail the next start with a clear message.
    await Deno.remove(path).catch(() => undefined);
    throw new SecretFileError(`Cannot write ${kind.what} "${path}": ${describe(error)}`);
  }
  file.close();
  return true;
}

/** Reads `path` after checking it is a small regular file only its owner can access. */
export async function readSecretFile(path: string, kind: SecretFileKind): Promise<string> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error: unknown) {
    const hint = error instanceof Deno.errors.NotFound ? kind.notFoundHint ?? "" : "";
    throw new SecretFileError(`Cannot open ${kind.what} "${path}": ${describe(error)}${hint}`);
  }
  using _file = file;
  const info = await file.stat();
  if (!info.isFile) {
    throw new SecretFileError(`Cannot use ${kind.what} "${path}": not a regular file`);
  }
  if (info.mode !== null && (info.mode & 0o077) !== 0) {
    const mode = (info.mode & 0o777).toString(8).padStart(4, "0");
    throw new SecretFileError(
      `Cannot use ${kind.what} "${path}": group or others can access it (mode ${mode}); ` +
        `fix it with: chmod 600 ${path}`,
    );
  }
  if (info.size > kind.maxBytes) {
    throw new SecretFileError(
      `Cannot use ${kind.what} "${path}": it is ${info.size} bytes, it should hold one line`,
    );
  }
  const buf = new Uint8Array(kind.maxBytes + 1);
  let length = 0;
  while (length < buf.length) {
    const n = await file.read(buf.subarray(length));
    if (n === null || n === 0) break;
    length += n;
  }
  return new TextDecoder().decode(buf.subarray(0, length));
}

/** An error's name and message, for wrapping. */
export function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
