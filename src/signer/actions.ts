/**
 * The reply actions of a `respond` job ({@link ReplyAction}): what goes into the `result` and
 * `error` fields of a NIP-46 reply. Problems caused by the client's input (a bad template, a bad
 * peer key, a forged ciphertext) become `{result: "", error: "invalid: …"}` replies; problems of
 * the caller (a malformed action) or of the server (a key that cannot be opened) reject the job.
 */
import { EventShapeError, type EventTemplate, parseEventTemplate } from "../nostr/event.ts";
import { isHex64 } from "../util/hex.ts";
import { isScheme, type PairCipher } from "./ciphers.ts";
import { DecryptError, EncryptError, InvalidJobError } from "./errors.ts";
import { signEvent } from "./events.ts";
import type { SchnorrKey } from "./schnorr.ts";

/** The `result` and optional `error` fields of a reply. */
export interface ActionReply {
  /** The reply's `result`; `""` on failure. */
  result: string;
  /** The reply's `error`, when there is one. */
  error?: string;
}

/** What the actions need from the worker's key and pair caches. */
export interface ActionKeys {
  /** Opens (or finds) the key `ref`; rejects with an error naming `role` when it cannot. */
  key(ref: unknown, role: string): Promise<SchnorrKey>;
  /** The cipher between `own` and the 64-hex `peerPubkey`. */
  pair(own: SchnorrKey, peerPubkey: string): PairCipher;
}

/** A failure caused by the client's input; becomes an `invalid: …` reply. */
class ClientInputError extends Error {}

/** Runs one reply action. */
export async function runAction(action: unknown, keys: ActionKeys): Promise<ActionReply> {
  if (typeof action !== "object" || action === null) {
    throw new InvalidJobError("Cannot run reply action: expected an object");
  }
  const fields = action as Record<string, unknown>;
  switch (fields.type) {
    case "result":
      return { result: nonEmpty(fields.result, "result") };
    case "error":
      return { result: "", error: nonEmpty(fields.error, "error") };
    case "auth_url":
      return { result: "auth_url", error: nonEmpty(fields.url, "auth url") };
    case "sign_event": {
      const user = await keys.key(fields.user, "user");
      return attempt(() => JSON.stringify(signEvent(user, template(fields.template))));
    }
    case "encrypt":
    case "decrypt": {
      const { type, scheme, peer } = fields;
      if (!isScheme(scheme)) {
        throw new InvalidJobError(`Cannot ${type} with scheme "${String(scheme)}"`);
      }
      const user = await keys.key(fields.user, "user");
      return attempt(() => {
        const cipher = pairWith(keys, user, peer);
        if (type === "encrypt") {
          return cipherCall(() => cipher.encrypt(scheme, text(fields.plaintext, "plaintext")));
        }
        const plaintext = cipherCall(() =>
          cipher.decrypt(scheme, text(fields.ciphertext, "ciphertext"))
        );
        if (plaintext === "") throw new ClientInputError("the decrypted plaintext is empty");
        return plaintext;
      });
    }
    default:
      throw new InvalidJobError(`Cannot run reply action "${String(fields.type)}"`);
  }
}

function attempt(run: () => string): ActionReply {
  try {
    return { result: run() };
  } catch (error) {
    if (error instanceof ClientInputError) {
      return { result: "", error: `invalid: ${error.message}` };
    }
    throw error;
  }
}

function nonEmpty(value: unknown, what: string): string {
  if (typeof value !== "string" || value === "") {
    throw new InvalidJobError(`Cannot reply with an empty or non-string ${what}`);
  }
  return value;
}

function text(value: unknown, what: string): string {
  if (typeof value !== "string") throw new ClientInputError(`the ${what} is not a string`);
  return value;
}

function template(value: unknown): EventTemplate {
  let parsed = value;
  if (typeof value === "string") {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new ClientInputError("Cannot parse event template: it is not JSON");
    }
  }
  try {
    return parseEventTemplate(parsed);
  } catch (error) {
    if (error instanceof EventShapeError) throw new ClientInputError(error.message);
    throw error;
  }
}

function pairWith(keys: ActionKeys, user: SchnorrKey, peer: unknown): PairCipher {
  if (!isHex64(peer)) {
    throw new ClientInputError(
      `Cannot use peer pubkey "${String(peer).slice(0, 80)}": expected 64 lowercase hex`,
    );
  }
  try {
    return keys.pair(user, peer);
  } catch (error) {
    throw new ClientInputError(`Cannot use peer pubkey "${peer}": it is not a point on secp256k1`, {
      cause: error,
    });
  }
}

function cipherCall(run: () => string): string {
  try {
    return run();
  } catch (error) {
    if (error instanceof DecryptError || error instanceof EncryptError) {
      throw new ClientInputError(error.message);
    }
    throw error;
  }
}
