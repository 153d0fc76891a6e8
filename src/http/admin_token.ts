/**
 * The admin token that management subcommands present as `Authorization: Bearer <token>`.
 *
 * `KEYCAST_ADMIN_TOKEN` wins when set. Otherwise `serve` creates `<data-dir>/admin.token` on first
 * run (mode 0600, 32 random bytes as base64url + "\n") or reads the existing one, refusing a file
 * that group or others can access. The server keeps only the token's sha256; the CLI reads the
 * token with {@link readAdminToken}. Error messages never contain the token.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { base64urlnopad } from "@scure/base";
import { join } from "node:path";
import {
  createSecretFile,
  readSecretFile,
  SecretFileError,
  type SecretFileKind,
} from "../util/secret_file.ts";

/** File name of the admin token inside the data directory. */
export const ADMIN_TOKEN_FILE = "admin.token";
/** Accepted token form: 16–1024 characters without whitespace. */
const TOKEN_PATTERN = /^\S{16,1024}$/;
/** Largest token file read, in bytes. */
const MAX_FILE_BYTES = 2_048;
/** How often, and how far apart in ms, to re-read a file another process is still writing. */
const RACE_RETRIES = 10;
const RACE_RETRY_MS = 20;

/** Raised when the admin token cannot be created or read; the message says how to fix it. */
export class AdminTokenError extends Error {
  override name = "AdminTokenError";
}

/** Where the token comes from. */
export interface AdminTokenSource {
  /** The data directory holding `admin.token`. */
  dataDir: string;
  /** Value of `KEYCAST_ADMIN_TOKEN`; undefined or empty selects the file. */
  envToken?: string;
}

/** The server's view of the admin token: its digest and origin. */
export interface EnsuredAdminToken {
  /** sha256 of the token's UTF-8 bytes. */
  hash: Uint8Array;
  /** Whether the token came from the environment or the token file. */
  source: "env" | "file";
  /** The token file, when `source` is `file`. */
  path?: string;
  /** True when this call created the token file. */
  created: boolean;
}

/** Returns the digest of the admin token, creating `<dataDir>/admin.token` when needed. */
export async function ensureAdminToken(src: AdminTokenSource): Promise<EnsuredAdminToken> {
  if (src.envToken) {
    // Trimmed on both sides (here and in readAdminToken), so a trailing newline cannot split them.
    const token = src.envToken.trim();
    checkToken(token, "KEYCAST_ADMIN_TOKEN");
    return { hash: digest(token), source: "env", created: false };
  }
  const path = join(src.dataDir, ADMIN_TOKEN_FILE);
  await Deno.mkdir(src.dataDir, { recursive: true, mode: 0o700 });
  const createdToken = await createTokenFile(path);
  if (createdToken !== undefined) {
    return { hash: digest(createdToken), source: "file", path, created: true };
  }
  for (let attempt = 0;; attempt++) {
    const text = (await readTokenFile(path)).trim();
    // An empty file right after losing the creation race means the winner is still writing.
    if (text !== "" || attempt >= RACE_RETRIES) {
      checkToken(text, `admin token file "${path}"`);
      return { hash: digest(text), source: "file", path, created: false };
    }
    await new Promise((resolve) => setTimeout(resolve, RACE_RETRY_MS));
  }
}

/** The admin token for a management subcommand: `KEYCAST_ADMIN_TOKEN`, else the token file. */
export async function readAdminToken(
  src: AdminTokenSource,
): Promise<{ token: string; source: "env" | "file"; path?: string }> {
  if (src.envToken) return { token: src.envToken.trim(), source: "env" };
  const path = join(src.dataDir, ADMIN_TOKEN_FILE);
  const token = (await readTokenFile(path)).trim();
  if (token === "") {
    throw new AdminTokenError(`Cannot use admin token file "${path}": it is empty`);
  }
  return { token, source: "file", path };
}

function digest(token: string): Uint8Array {
  return sha256(new TextEncoder().encode(token));
}

function checkToken(token: string, what: string): void {
  if (!TOKEN_PATTERN.test(token)) {
    throw new AdminTokenError(
      `Cannot use ${what}: an admin token must be 16 to 1024 characters without whitespace ` +
        `(it has ${token.length}); generate one with: openssl rand -base64 32`,
    );
  }
}

const TOKEN_FILE: SecretFileKind = {
  what: "admin token file",
  maxBytes: MAX_FILE_BYTES,
  notFoundHint: "; start `keycast serve` with this --data-dir first, or set KEYCAST_ADMIN_TOKEN",
};

/** Creates the token file with a fresh token; returns it, or undefined if the file exists. */
async function createTokenFile(path: string): Promise<string | undefined> {
  const token = base64urlnopad.encode(crypto.getRandomValues(new Uint8Array(32)));
  try {
    return await createSecretFile(path, `${token}\n`, TOKEN_FILE) ? token : undefined;
  } catch (error: unknown) {
    throw error instanceof SecretFileError ? new AdminTokenError(error.message) : error;
  }
}

/** Reads the token file after checking it is a small regular file only its owner can access. */
async function readTokenFile(path: string): Promise<string> {
  try {
    return await readSecretFile(path, TOKEN_FILE);
  } catch (error: unknown) {
    throw error instanceof SecretFileError ? new AdminTokenError(error.message) : error;
  }
}
