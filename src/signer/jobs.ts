/**
 * Field checks of the jobs a worker receives ({@link Job}), run in the worker before anything else
 * touches them. Only types are checked here (strings are strings, schemes are schemes, KeyRefs have
 * string fields); formats and sizes of those fields, opening the keys, and the `event` and
 * `template` objects are checked by SignerCore.
 */
import { isScheme } from "./ciphers.ts";
import { asRecord, isSafeInteger, isString } from "./checks.ts";
import type { Job, KeyAction, KeyRef, ReplyAction } from "./protocol.ts";

/** A copy of `value` as a {@link Job} with every field of its op checked; `undefined` when malformed. */
export function parseJob(value: unknown): Job | undefined {
  const job = asRecord(value);
  switch (job?.op) {
    case "unwrap": {
      const bunker = parseKeyRef(job.bunker);
      return bunker && { op: "unwrap", bunker, event: job.event };
    }
    case "respond": {
      const { clientPubkey, scheme, requestId, createdAt } = job;
      const bunker = parseKeyRef(job.bunker);
      const action = parseReplyAction(job.action);
      if (
        !bunker || !action || !isString(clientPubkey) || !isScheme(scheme) ||
        !isString(requestId) || !isSafeInteger(createdAt)
      ) {
        return undefined;
      }
      return { op: "respond", bunker, clientPubkey, scheme, requestId, action, createdAt };
    }
    case "reject": {
      const { error, createdAt } = job;
      const bunker = parseKeyRef(job.bunker);
      if (!bunker || !isString(error) || !isSafeInteger(createdAt)) return undefined;
      return { op: "reject", bunker, event: job.event, error, createdAt };
    }
    case "perform": {
      const action = parseReplyAction(job.action);
      return action && isKeyAction(action) ? { op: "perform", action } : undefined;
    }
    case "sign": {
      const key = parseKeyRef(job.key);
      return key && { op: "sign", key, template: job.template };
    }
    case "generate":
      return { op: "generate" };
    case "export": {
      const key = parseKeyRef(job.key);
      const { password, logN } = job;
      if (!key || !isString(password) || !isSafeInteger(logN)) return undefined;
      return { op: "export", key, password, logN };
    }
    case "stall":
      return typeof job.ms === "number" ? { op: "stall", ms: job.ms } : undefined;
    case "crash":
    case "permissions":
    case "garbage":
      return { op: job.op };
    default:
      return undefined;
  }
}

/** A copy of `value` as a {@link ReplyAction} with its fields' types checked; `undefined` when malformed. */
function parseReplyAction(value: unknown): ReplyAction | undefined {
  const action = asRecord(value);
  switch (action?.type) {
    case "result":
      return isString(action.result) ? { type: "result", result: action.result } : undefined;
    case "error":
      return isString(action.error) ? { type: "error", error: action.error } : undefined;
    case "auth_url":
      return isString(action.url) ? { type: "auth_url", url: action.url } : undefined;
    case "sign_event": {
      const user = parseKeyRef(action.user);
      return user && { type: "sign_event", user, template: action.template };
    }
    case "encrypt":
    case "decrypt": {
      const { scheme, peer } = action;
      const user = parseKeyRef(action.user);
      if (!user || !isScheme(scheme) || !isString(peer)) return undefined;
      if (action.type === "encrypt") {
        const { plaintext } = action;
        return isString(plaintext) ? { type: "encrypt", scheme, user, peer, plaintext } : undefined;
      }
      const { ciphertext } = action;
      return isString(ciphertext) ? { type: "decrypt", scheme, user, peer, ciphertext } : undefined;
    }
    default:
      return undefined;
  }
}

/** Whether `action` uses the user's key (what a `perform` job may run). */
export function isKeyAction(action: ReplyAction): action is KeyAction {
  return action.type === "sign_event" || action.type === "encrypt" || action.type === "decrypt";
}

/** A copy of `value` as a {@link KeyRef} when both fields are strings (their format is checked where the key is opened). */
function parseKeyRef(value: unknown): KeyRef | undefined {
  const ref = asRecord(value);
  if (!isString(ref?.pubkey) || !isString(ref.sealed)) return undefined;
  return { pubkey: ref.pubkey, sealed: ref.sealed };
}
