/**
 * The message protocol between {@link SignerPool} (main thread) and `signer.worker.ts`.
 *
 * Main → worker: one `init` (the master key, once), then `job` messages, each with a numeric id
 * unique per pool. Worker → main: `ready` once its vault is built, then one `result` per job id,
 * either `ok` with the job's output ({@link JobResults}) or an error as `{code, message}`. Both
 * sides validate what they receive: a malformed message is answered (when it carries an id) or
 * dropped, never trusted; an `ok` value is checked against its op's result shape (`results.ts`).
 *
 * Secret keys travel only sealed ({@link KeyRef}); each worker opens them with its own vault.
 */
import type { NostrEvent } from "../nostr/event.ts";
import type { ActionReply } from "./actions.ts";
import type { Scheme } from "./ciphers.ts";
import { asRecord, isSafeInteger } from "./checks.ts";
import type { WireError } from "./errors.ts";
import { parseJob } from "./jobs.ts";

export type { Scheme } from "./ciphers.ts";

/** A secret key as the database holds it: vault-sealed, bound to its public key. */
export interface KeyRef {
  /** Lowercase hex x-only public key (64 chars); also the vault's additional data. */
  pubkey: string;
  /** The sealed secret (`v1.<keyId>.<base64url>`). */
  sealed: string;
}

/** What a reply to a NIP-46 request carries, or the key operation that produces it. */
export type ReplyAction =
  /** Success with a non-empty `result`. */
  | { type: "result"; result: string }
  /** Failure: the reply is `{id, result: "", error}`. */
  | { type: "error"; error: string }
  /** Auth challenge: the reply is `{id, result: "auth_url", error: url}`. */
  | { type: "auth_url"; url: string }
  /** Sign `template` (object or JSON string) with `user`; the result is the signed event as JSON. */
  | { type: "sign_event"; user: KeyRef; template: unknown }
  /** Encrypt `plaintext` from `user` to `peer` (hex pubkey) with `scheme`. */
  | { type: "encrypt"; scheme: Scheme; user: KeyRef; peer: string; plaintext: string }
  /** Decrypt `ciphertext` between `user` and `peer` (hex pubkey) with `scheme`. */
  | { type: "decrypt"; scheme: Scheme; user: KeyRef; peer: string; ciphertext: string };

/** The reply actions that use the user's key: what a {@link PerformJob} runs. */
export type KeyAction = Extract<ReplyAction, { type: "sign_event" | "encrypt" | "decrypt" }>;

/** Verify and decrypt a NIP-46 request addressed to `bunker`. */
export interface UnwrapJob {
  /** Operation name. */
  op: "unwrap";
  /** The bunker key the request is addressed to. */
  bunker: KeyRef;
  /** The event as received from a relay (validated in the worker). */
  event: unknown;
}

/** Run `action`, then encrypt and sign the NIP-46 reply, in one round trip. */
export interface RespondJob {
  /** Operation name. */
  op: "respond";
  /** The bunker key that encrypts and signs the reply. */
  bunker: KeyRef;
  /** Recipient of the reply (hex pubkey). */
  clientPubkey: string;
  /** Encryption of the reply: the scheme the request used. */
  scheme: Scheme;
  /** The NIP-46 request id, echoed in the reply. */
  requestId: string;
  /** What the reply says. */
  action: ReplyAction;
  /** `created_at` of the reply event, in Unix seconds. */
  createdAt: number;
}

/** What {@link RespondJob} needs from its caller; `createdAt` defaults to now. */
export type RespondInput = Omit<RespondJob, "op" | "createdAt"> & { createdAt?: number };

/**
 * Verify and decrypt a request, then answer it with `error` (e.g. `overloaded: retry later`):
 * `unwrap` and `respond` in one round trip, for the pool's reserved lane.
 */
export interface RejectJob {
  /** Operation name. */
  op: "reject";
  /** The bunker key the request is addressed to. */
  bunker: KeyRef;
  /** The event as received from a relay. */
  event: unknown;
  /** The reply's `error` field. */
  error: string;
  /** `created_at` of the reply event, in Unix seconds. */
  createdAt: number;
}

/**
 * Run a key action and return its outcome bare, with no NIP-46 reply around it (HTTP signing:
 * `POST /api/nostr` answers over HTTP, so nothing is encrypted to a client or signed by a bunker).
 */
export interface PerformJob {
  /** Operation name. */
  op: "perform";
  /** What to run with the user's key. */
  action: KeyAction;
}

/** Sign an event template with one key (NIP-42 AUTH, nostrconnect pairing replies). */
export interface SignJob {
  /** Operation name. */
  op: "sign";
  /** The signing key. */
  key: KeyRef;
  /** The template (object or JSON string); extra `pubkey`/`id`/`sig` are recomputed. */
  template: unknown;
}

/** Generate a fresh key and seal it, in the worker: its secret never reaches the main thread. */
export interface GenerateJob {
  /** Operation name. */
  op: "generate";
}

/** Encrypt a stored key with a password (NIP-49 `ncryptsec`), for its owner to take away. */
export interface ExportJob {
  /** Operation name. */
  op: "export";
  /** The key to export. */
  key: KeyRef;
  /** The password it is encrypted with (never logged). */
  password: string;
  /** scrypt cost, log2 N: 16 to 22. */
  logN: number;
}

/** Test-only operations, refused unless the pool was built with `debugOps: true`. */
export type DebugJob =
  /** Throw an uncaught error in the worker, which kills it. */
  | { op: "crash" }
  /** Busy-wait `ms` milliseconds (at most 10 s), then answer `null`. */
  | { op: "stall"; ms: number }
  /** Answer the worker's permission states, e.g. `{net: "prompt", …}` (none may be "granted"). */
  | { op: "permissions" }
  /** Answer `"nonsense"` instead of `null`, so that the pool's result check can be tested. */
  | { op: "garbage" };

/** Any job a worker runs. */
export type Job =
  | UnwrapJob
  | RespondJob
  | RejectJob
  | PerformJob
  | SignJob
  | GenerateJob
  | ExportJob
  | DebugJob;

/** The name of an operation, e.g. `"unwrap"`. */
export type JobOp = Job["op"];

/** Output of an {@link UnwrapJob}. */
export interface UnwrapResult {
  /** Author of the request (verified). */
  clientPubkey: string;
  /** Scheme the request used; the reply must use the same. */
  scheme: Scheme;
  /** Decrypted content: the NIP-46 JSON message, not yet parsed. */
  plaintext: string;
  /** Id of the verified request event. */
  eventId: string;
  /** `created_at` of the request event, in Unix seconds. */
  createdAt: number;
}

/** Output of a {@link RespondJob}. */
export interface RespondResult {
  /** The signed NIP-46 reply, ready to publish. */
  event: NostrEvent;
  /** The `result` field of the reply. */
  result: string;
  /** The `error` field of the reply, when there is one. */
  error?: string;
}

/**
 * Output of a {@link RejectJob}: the signed error reply, and the request id it echoes (so that a
 * cluster instance can claim the request before publishing the reply).
 */
export interface RejectResult extends RespondResult {
  /** The request id the worker decrypted, echoed in the reply. */
  requestId: string;
}

/** The output of each operation: what a worker answers `ok` with (checked by `parseJobResult`). */
export interface JobResults {
  /** The verified, decrypted request. */
  unwrap: UnwrapResult;
  /** The signed reply. */
  respond: RespondResult;
  /** The signed error reply and its request id; `undefined` when the request carries no id. */
  reject: RejectResult | undefined;
  /** The action's `result`, or `error` (`invalid: …`) when the client's input was at fault. */
  perform: ActionReply;
  /** The signed event. */
  sign: NostrEvent;
  /** The new key's pubkey and its vault-sealed secret. */
  generate: { pubkey: string; sealed: string };
  /** The `ncryptsec1…` text. */
  export: string;
  /** Nothing, once the busy-wait is over. */
  stall: null;
  /** The worker's permission states by name. */
  permissions: Record<string, Deno.PermissionState>;
  /** Never answers: the worker dies. */
  crash: never;
  /** Declared `null`; the worker deliberately answers something else. */
  garbage: null;
}

/** The output of job `J`, e.g. `ResultOf<UnwrapJob>` is {@link UnwrapResult}. */
export type ResultOf<J extends Job> = JobResults[J["op"]];

/** Messages the pool sends to a worker. */
export type ToWorker =
  | { type: "init"; masterKey: Uint8Array; masterKeyId: number; debugOps: boolean }
  | { type: "job"; id: number; job: Job };

/**
 * Messages a worker sends to the pool: `ready` once its vault exists, then one result per job;
 * `crashed` when an error escaped a handler (the worker closes itself right after).
 */
export type FromWorker =
  | { type: "ready" }
  | { type: "crashed"; message: string }
  | { type: "result"; id: number; ok: true; value: unknown }
  | { type: "result"; id: number; ok: false; error: WireError };

/** Checks a message received from a worker; `undefined` when it is not a valid {@link FromWorker}. */
export function parseFromWorker(data: unknown): FromWorker | undefined {
  const message = asRecord(data);
  if (!message) return undefined;
  if (message.type === "ready") return { type: "ready" };
  if (message.type === "crashed") {
    return typeof message.message === "string"
      ? { type: "crashed", message: message.message }
      : undefined;
  }
  const id = message.id;
  if (message.type !== "result" || !isSafeInteger(id)) return undefined;
  if (message.ok === true) return { type: "result", id, ok: true, value: message.value };
  const error = asRecord(message.error);
  if (
    message.ok !== false || typeof error?.code !== "string" || typeof error.message !== "string"
  ) {
    return undefined;
  }
  return { type: "result", id, ok: false, error: { code: error.code, message: error.message } };
}

/**
 * Checks a message received by a worker, the fields of its job included (`event` and `template`
 * stay `unknown`: SignerCore validates them deeply); `undefined` when it is not a valid
 * {@link ToWorker}.
 */
export function parseToWorker(data: unknown): ToWorker | undefined {
  const message = asRecord(data);
  if (!message) return undefined;
  if (message.type === "init") {
    const { masterKey, masterKeyId, debugOps } = message;
    if (!(masterKey instanceof Uint8Array) || !isSafeInteger(masterKeyId)) return undefined;
    return { type: "init", masterKey, masterKeyId, debugOps: debugOps === true };
  }
  const id = message.id;
  if (message.type !== "job" || !isSafeInteger(id)) return undefined;
  const job = parseJob(message.job);
  return job && { type: "job", id, job };
}
