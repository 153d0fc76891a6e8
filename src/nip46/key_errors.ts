/**
 * The error line for a key this server cannot open (a corrupt row, a master key that does not
 * match): logged at most once a minute per authorization, since every request to it fails the
 * same way until the operator acts. Shared by the NIP-46 listener and HTTP signing.
 */
import type { Log } from "../log.ts";
import type { KeyUnavailableError } from "../signer/errors.ts";

/** How often the error is logged per authorization, in ms. */
export const KEY_ERROR_LOG_INTERVAL_MS = 60_000;
/** Authorizations remembered; past it the memory starts over (and may log once more each). */
const MAX_REMEMBERED = 10_000;

/** Rate-limits the "cannot open a key" error line per authorization. */
export class KeyErrorLog {
  readonly #loggedAt = new Map<string, number>();

  constructor(private readonly log: Log, private readonly ns: string) {}

  /** Logs the error for `authorizationId` unless it was logged in the last minute. */
  report(authorizationId: string, error: KeyUnavailableError, now: number): void {
    const last = this.#loggedAt.get(authorizationId);
    if (last !== undefined && now - last < KEY_ERROR_LOG_INTERVAL_MS) return;
    if (this.#loggedAt.size >= MAX_REMEMBERED) this.#loggedAt.clear();
    this.#loggedAt.set(authorizationId, now);
    this.log({
      level: "error",
      ns: this.ns,
      msg: "Cannot open a key of an authorization: its requests fail until the key is restored",
      authorizationId,
      error: error.message,
    });
  }
}
