/**
 * Errors of the signing pool. Each has a stable `code` so that an error raised inside a worker can
 * cross `postMessage` as `{code, message}` and be rebuilt as the same class on the main thread.
 * Messages never contain secret material.
 */

/** Base class of every signer error. */
export class SignerError extends Error {
  /** Stable identifier used on the worker boundary. */
  readonly code: string = "internal";
  override name = "SignerError";
}

/** The request event is malformed, its id does not match its content, or its signature is invalid. */
export class InvalidEventError extends SignerError {
  override readonly code = "invalid_event";
  override name = "InvalidEventError";
}

/** A payload could not be decrypted (bad encoding, MAC failure, padding, not UTF-8). */
export class DecryptError extends SignerError {
  override readonly code = "decrypt";
  override name = "DecryptError";
}

/** A plaintext could not be encrypted (e.g. empty or too long for NIP-44). */
export class EncryptError extends SignerError {
  override readonly code = "encrypt";
  override name = "EncryptError";
}

/** A sealed key could not be opened, or it does not belong to the public key it came with. */
export class KeyUnavailableError extends SignerError {
  override readonly code = "key_unavailable";
  override name = "KeyUnavailableError";
}

/** The job itself is malformed (a caller bug): bad key reference, pubkey, scheme or reply. */
export class InvalidJobError extends SignerError {
  override readonly code = "invalid_job";
  override name = "InvalidJobError";
}

/** The wait queue is full; the caller should answer `overloaded: retry later`. */
export class OverloadedError extends SignerError {
  override readonly code = "overloaded";
  override name = "OverloadedError";
}

/** The job did not finish within the pool's job timeout. */
export class SignerTimeoutError extends SignerError {
  override readonly code = "timeout";
  override name = "SignerTimeoutError";
}

/** The worker holding the job crashed or hung and was replaced. */
export class WorkerCrashedError extends SignerError {
  override readonly code = "worker_crashed";
  override name = "WorkerCrashedError";
}

/** A worker answered a job with a value that does not have the shape of that job's result. */
export class WorkerProtocolError extends SignerError {
  override readonly code = "worker_protocol";
  override name = "WorkerProtocolError";
}

/** The pool is closed. */
export class SignerClosedError extends SignerError {
  override readonly code = "closed";
  override name = "SignerClosedError";
}

/** An error as it crosses the worker boundary. */
export interface WireError {
  /** One of the `code` values above. */
  code: string;
  /** Human-readable message, free of secrets. */
  message: string;
}

const CLASSES: Record<string, new (message: string) => SignerError> = {
  invalid_event: InvalidEventError,
  decrypt: DecryptError,
  encrypt: EncryptError,
  key_unavailable: KeyUnavailableError,
  invalid_job: InvalidJobError,
  overloaded: OverloadedError,
  timeout: SignerTimeoutError,
  worker_crashed: WorkerCrashedError,
  worker_protocol: WorkerProtocolError,
  closed: SignerClosedError,
};

/**
 * Converts a thrown value for `postMessage`. Errors that are not {@link SignerError}s become
 * `internal` with a fixed message, so that text from a dependency (which might echo an input
 * value) never leaves the worker.
 */
export function toWireError(error: unknown): WireError {
  if (error instanceof SignerError) return { code: error.code, message: error.message };
  const name = error instanceof Error ? error.name : typeof error;
  return { code: "internal", message: `Signer worker failed with an unexpected ${name}` };
}

/** Rebuilds the error class named by `wire.code` (unknown codes become a plain {@link SignerError}). */
export function fromWireError(wire: WireError): SignerError {
  const Class = CLASSES[wire.code] ?? SignerError;
  return new Class(wire.message);
}
