/**
 * Publishing one event to one relay and waiting for its `OK`. Retries, until the deadline, while
 * the relay is unreachable, when the socket drops before the OK, and when the relay answers OK
 * false with a transient reason (`rate-limited:`, `error:`); authenticates (NIP-42) once on
 * `auth-required:`; gives up at once on any other refusal (`invalid:`, `blocked:`, `pow:`, …).
 */
import { delay } from "../util/async.ts";
import { backoffDelay, type BackoffOptions } from "./backoff.ts";
import type { Relay } from "./relay.ts";
import type { NostrEvent, PublishResult } from "./types.ts";

/** OK-false prefixes worth retrying. */
const TRANSIENT_PREFIXES = ["rate-limited:", "error:"];
/** Upper bound of send attempts per relay, whatever the deadline. */
const MAX_ROUNDS = 100;

/** How one publish runs. */
export interface PublishRun {
  /** Give up at this time, in ms since the epoch. */
  deadline: number;
  /** The timeout that set the deadline, in ms (for the message). */
  timeoutMs: number;
  /** Aborted by the caller or by the pool closing. */
  signal: AbortSignal;
  /** Retry backoff. */
  backoff: BackoffOptions;
}

/** True for an OK-false message that may succeed later. */
export function isTransientRefusal(message: string): boolean {
  return TRANSIENT_PREFIXES.some((prefix) => message.startsWith(prefix));
}

/** Publishes `event` to `relay`; never rejects. */
export async function publishToRelay(
  relay: Relay,
  event: NostrEvent,
  run: PublishRun,
): Promise<PublishResult> {
  const { deadline, signal } = run;
  const url = relay.url;
  const text = JSON.stringify(["EVENT", event]);
  let last = "";
  let retries = 0;
  relay.pendingPublishes++;
  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const conn = relay.publishConnection();
      if (!conn) return { url, ok: false, message: "closed: relay pool is closing" };
      if (signal.aborted) return { url, ok: false, message: "aborted: publish was cancelled" };
      if (Date.now() >= deadline) break;
      if (!(await conn.waitOpen(deadline, signal))) {
        if (conn.lastError) last = `unreachable: ${conn.lastError}`;
        continue;
      }
      const epoch = relay.auth.epoch(conn);
      if (!conn.send(text)) continue;
      const outcome = await conn.okWaiters.wait(event.id, deadline, signal);
      if (outcome.kind === "aborted" || outcome.kind === "timeout") continue;
      if (outcome.kind === "lost") {
        last = outcome.reason;
        continue;
      }
      if (outcome.ok) return { url, ok: true, message: outcome.message };
      last = outcome.message;
      if (last.startsWith("auth-required:")) {
        if (relay.auth.epoch(conn) > epoch) continue;
        if (await relay.authenticateFor(conn, event.pubkey, deadline) > 0) continue;
        return { url, ok: false, message: last };
      }
      if (!isTransientRefusal(last)) return { url, ok: false, message: last };
      const waitMs = Math.min(backoffDelay(retries++, run.backoff), deadline - Date.now());
      try {
        await delay(Math.max(0, waitMs), { signal });
      } catch (_aborted: unknown) {
        // Aborted while backing off: the next round reports it.
      }
    }
    const tail = last ? ` (last: ${last})` : "";
    return { url, ok: false, message: `timeout: no OK within ${run.timeoutMs} ms${tail}` };
  } finally {
    relay.pendingPublishes--;
  }
}
