/**
 * Loading the 32-byte master key that seals secrets at rest.
 *
 * `KEYCAST_MASTER_KEY` (base64, standard or url-safe, padding optional) wins when set. Otherwise
 * the key file is used: created on first run (directory mode 0700, file mode 0600, base64 + "\n"),
 * and refused when group or others can read or write it. Error messages never contain key material.
 */
import { base64 } from "@scure/base";
import { dirname } from "node:path";
import {
  createSecretFile,
  readSecretFile,
  SecretFileError,
  type SecretFileKind,
} from "../util/secret_file.ts";
import { MASTER_KEY_BYTES } from "./vault.ts";

/** Where the master key comes from. */
export interface MasterKeySource {
  /** Create the file with a fresh key when it is missing (and no env key is given). Default true. */
  create?: boolean;
  /** Value of `KEYCAST_MASTER_KEY` (base64), or undefined when the variable is unset. */
  fromEnv?: string;
  /** Path of the master key file, used when `fromEnv` is undefined; created if missing. */
  file: string;
}

/** The loaded master key and where it came from. */
export interface LoadedMasterKey {
  /** The 32 raw key bytes. */
  key: Uint8Array;
  /** Whether the key came from the environment or the key file. */
  source: "env" | "file";
  /** True when this call created the key file. */
  created: boolean;
}

/** Raised when the master key cannot be loaded; the message says how to fix it, never the key. */
export class MasterKeyError extends Error {
  override name = "MasterKeyError";
}

/** Raised when the key file is missing and was not to be created. */
export class MasterKeyMissingError extends MasterKeyError {
  override name = "MasterKeyMissingError";
}

const GENERATE_HINT = "generate one with: openssl rand -base64 32";
/** Largest key file accepted, in bytes (a base64 key is 45). */
const MAX_FILE_BYTES = 1024;
/** How often, and how long apart in ms, to re-read a file another process is still writing. */
const RACE_RETRIES = 10;
const RACE_RETRY_MS = 20;

/** Loads the master key from `KEYCAST_MASTER_KEY` or the key file, creating the file if missing. */
export async function loadMasterKey(src: MasterKeySource): Promise<LoadedMasterKey> {
  if (src.fromEnv !== undefined) {
    const key = decodeKey(src.fromEnv, "the value");
    if (typeof key === "string") {
      throw new MasterKeyError(
        `Cannot use KEYCAST_MASTER_KEY: ${key}; ${GENERATE_HINT} (or unset it to use the key file)`,
      );
    }
    return { key, source: "env", created: false };
  }
  if (src.create === false && !await exists(src.file)) {
    throw new MasterKeyMissingError(
      `Cannot read master key file "${src.file}": it does not exist`,
    );
  }
  const created = src.create === false ? undefined : await createKeyFile(src.file);
  if (created) return { key: created, source: "file", created: true };
  for (let attempt = 0;; attempt++) {
    const text = await readKeyFile(src.file);
    // An empty file right after losing the creation race means the winner is still writing.
    if (text.trim() !== "" || attempt >= RACE_RETRIES) {
      const key = decodeKey(text, "the content");
      if (typeof key === "string") {
        throw new MasterKeyError(
          `Cannot use master key file "${src.file}": ${key}; restore the right file, or move it ` +
            `away to create a new key (secrets sealed with the old key will not open)`,
        );
      }
      return { key, source: "file", created: false };
    }
    await new Promise((resolve) => setTimeout(resolve, RACE_RETRY_MS));
  }
}

/** Decodes base64 text to a 32-byte key, or returns the reason it is unusable. */
function decodeKey(text: string, what: string): Uint8Array | string {
  const compact = text.replace(/\s+/g, "");
  if (compact === "") return `${what} is empty`;
  const std = compact.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
  if (!/^[A-Za-z0-9+/]*$/.test(std) || std.length % 4 === 1) {
    return `${what} is not valid base64`;
  }
  let key: Uint8Array;
  try {
    key = base64.decode(std.padEnd(Math.ceil(std.length / 4) * 4, "="));
  } catch (_error: unknown) {
    // The decoder's message may quote the input, which is key material: report the kind only.
    return `${what} is not valid base64`;
  }
  if (key.length !== MASTER_KEY_BYTES) {
    return `${what} decodes to ${key.length} bytes, expected ${MASTER_KEY_BYTES}`;
  }
  return key;
}

const KEY_FILE: SecretFileKind = { what: "master key file", maxBytes: MAX_FILE_BYTES };

/** Creates the key file with a fresh key; returns it, or undefined if the file already exists. */
async function createKeyFile(path: string): Promise<Uint8Array | undefined> {
  await Deno.mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const key = crypto.getRandomValues(new Uint8Array(MASTER_KEY_BYTES));
  try {
    return await createSecretFile(path, `${base64.encode(key)}\n`, KEY_FILE) ? key : undefined;
  } catch (error: unknown) {
    throw error instanceof SecretFileError ? new MasterKeyError(error.message) : error;
  }
}

/** Reads the key file after checking it is a small regular file only its owner can access. */
async function readKeyFile(path: string): Promise<string> {
  try {
    return await readSecretFile(path, KEY_FILE);
  } catch (error: unknown) {
    throw error instanceof SecretFileError ? new MasterKeyError(error.message) : error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error: unknown) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
