/**
 * The main thread's check of what a worker answers `ok` with: {@link parseJobResult} compares the
 * value with its op's shape in {@link JobResults} before the caller sees it. Cheap on purpose (it
 * runs once per job on the event loop): type tests and hex/length regexes, no hashing and no
 * signature verification (the listener and the clients verify what they use).
 */
import { EventShapeError, type NostrEvent, parseSignedEvent } from "../nostr/event.ts";
import { isHex64 } from "../util/hex.ts";
import type { ActionReply } from "./actions.ts";
import { asRecord, isSafeInteger, isString } from "./checks.ts";
import { isScheme } from "./ciphers.ts";
import { WorkerProtocolError } from "./errors.ts";
import type { JobOp, JobResults, RejectResult, RespondResult, UnwrapResult } from "./protocol.ts";

const PERMISSION_STATES: ReadonlySet<unknown> = new Set(["granted", "prompt", "denied"]);

/** Why a result does not have its op's shape; becomes a {@link WorkerProtocolError} naming the op. */
class ResultShapeError extends Error {}

/** One checker per op: the value as that op's result, or a thrown {@link ResultShapeError}. */
const PARSERS: { [Op in JobOp]: (value: unknown) => JobResults[Op] } = {
  unwrap: parseUnwrapResult,
  respond: parseRespondResult,
  reject: (value) => value === undefined ? undefined : parseRejectResult(value),
  perform: parseActionReply,
  sign: (value) => parseEvent(value, "signed event"),
  generate: parseGenerated,
  export: (value) => {
    if (!isString(value) || !value.startsWith("ncryptsec1")) {
      throw new ResultShapeError("the value must be an ncryptsec1 string");
    }
    return value;
  },
  stall: parseNull,
  permissions: parsePermissions,
  crash: () => {
    throw new ResultShapeError("the op never answers");
  },
  garbage: parseNull,
};

/**
 * The worker's `value` for a job of operation `op`, checked against {@link JobResults} and copied;
 * throws {@link WorkerProtocolError} naming the op and the field when it has another shape. Only
 * the fields of a malformed event (public data) are quoted; a plaintext may be secret.
 */
export function parseJobResult<Op extends JobOp>(op: Op, value: unknown): JobResults[Op] {
  try {
    return PARSERS[op](value);
  } catch (error) {
    if (!(error instanceof ResultShapeError)) throw error;
    throw new WorkerProtocolError(
      `Cannot accept the result of signer job "${op}": ${error.message}`,
    );
  }
}

function parseGenerated(value: unknown): { pubkey: string; sealed: string } {
  const { pubkey, sealed } = expectRecord(value);
  if (!isHex64(pubkey)) throw malformed("pubkey", "64 lowercase hex");
  if (!isString(sealed) || sealed === "") throw malformed("sealed", "a non-empty string");
  return { pubkey, sealed };
}

function parseUnwrapResult(value: unknown): UnwrapResult {
  const fields = expectRecord(value);
  const { clientPubkey, scheme, plaintext, eventId, createdAt } = fields;
  if (!isHex64(clientPubkey)) throw malformed("clientPubkey", "64 lowercase hex");
  if (!isScheme(scheme)) throw malformed("scheme", '"nip44" or "nip04"');
  if (!isString(plaintext)) throw malformed("plaintext", "a string");
  if (!isHex64(eventId)) throw malformed("eventId", "64 lowercase hex");
  if (!isSafeInteger(createdAt) || createdAt < 0) {
    throw malformed("createdAt", "a non-negative integer");
  }
  return { clientPubkey, scheme, plaintext, eventId, createdAt };
}

function parseRespondResult(value: unknown): RespondResult {
  const fields = expectRecord(value);
  const { result, error } = fields;
  const event = parseEvent(fields.event, "reply event");
  if (!isString(result)) throw malformed("result", "a string");
  if (error === undefined) return { event, result };
  if (!isString(error)) throw malformed("error", "a string or absent");
  return { event, result, error };
}

function parseRejectResult(value: unknown): RejectResult {
  const { requestId } = expectRecord(value);
  if (!isString(requestId)) throw malformed("requestId", "a string");
  return { ...parseRespondResult(value), requestId };
}

function parseActionReply(value: unknown): ActionReply {
  const { result, error } = expectRecord(value);
  if (!isString(result)) throw malformed("result", "a string");
  if (error === undefined) {
    if (result === "") throw malformed("result", "non-empty when there is no error");
    return { result };
  }
  if (!isString(error) || error === "") throw malformed("error", "a non-empty string or absent");
  return { result, error };
}

/** The NIP-01 shape (hex id, pubkey and sig; kind; created_at; string tags and content), in field order. */
function parseEvent(value: unknown, what: string): NostrEvent {
  let event: NostrEvent;
  try {
    event = parseSignedEvent(value);
  } catch (error) {
    if (error instanceof EventShapeError) {
      throw new ResultShapeError(`the ${what} is malformed (${error.message})`);
    }
    throw error;
  }
  const { id, pubkey, created_at, kind, tags, content, sig } = event;
  return { id, pubkey, created_at, kind, tags, content, sig };
}

function parseNull(value: unknown): null {
  if (value !== null) throw malformed("the value", "null");
  return null;
}

function parsePermissions(value: unknown): Record<string, Deno.PermissionState> {
  const fields = expectRecord(value);
  const states: Record<string, Deno.PermissionState> = {};
  for (const [name, state] of Object.entries(fields)) {
    if (!isPermissionState(state)) throw malformed(`permission "${name}"`, "a permission state");
    states[name] = state;
  }
  return states;
}

function isPermissionState(value: unknown): value is Deno.PermissionState {
  return PERMISSION_STATES.has(value);
}

function expectRecord(value: unknown): Record<string, unknown> {
  const fields = asRecord(value);
  if (!fields) throw new ResultShapeError("expected an object");
  return fields;
}

function malformed(field: string, expected: string): ResultShapeError {
  return new ResultShapeError(`${field} must be ${expected}`);
}
