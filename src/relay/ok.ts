/** Waiting for a relay's `["OK", id, ok, message]` answer to an EVENT or AUTH message. */

/** How a wait for OK ended. */
export type OkOutcome =
  | { kind: "ok"; ok: boolean; message: string }
  | { kind: "lost"; reason: string }
  | { kind: "timeout" }
  | { kind: "aborted" };

interface Waiter {
  settle(outcome: OkOutcome): void;
}

/** Pending OK waits of one connection, keyed by event id. */
export class OkWaiters {
  readonly #byId = new Map<string, Set<Waiter>>();

  /** Number of pending waits. */
  get size(): number {
    let n = 0;
    for (const set of this.#byId.values()) n += set.size;
    return n;
  }

  /**
   * Waits for the OK of `eventId` until `deadline` (ms since the epoch) or `signal` aborts.
   * Register before sending the message so a fast answer is not missed.
   */
  wait(eventId: string, deadline: number, signal?: AbortSignal): Promise<OkOutcome> {
    return new Promise<OkOutcome>((resolve) => {
      if (signal?.aborted) return resolve({ kind: "aborted" });
      const waiter: Waiter = {
        settle: (outcome) => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          const set = this.#byId.get(eventId);
          set?.delete(waiter);
          if (set?.size === 0) this.#byId.delete(eventId);
          resolve(outcome);
        },
      };
      const onAbort = () => waiter.settle({ kind: "aborted" });
      const timer = setTimeout(
        () => waiter.settle({ kind: "timeout" }),
        Math.max(0, deadline - Date.now()),
      );
      signal?.addEventListener("abort", onAbort, { once: true });
      let set = this.#byId.get(eventId);
      if (!set) this.#byId.set(eventId, set = new Set());
      set.add(waiter);
    });
  }

  /** Delivers an OK to every wait for `eventId`; false when nobody waited. */
  resolve(eventId: string, ok: boolean, message: string): boolean {
    const set = this.#byId.get(eventId);
    if (!set) return false;
    for (const waiter of [...set]) waiter.settle({ kind: "ok", ok, message });
    return true;
  }

  /** Ends every wait as lost (the socket closed before the OK came). */
  failAll(reason: string): void {
    for (const set of [...this.#byId.values()]) {
      for (const waiter of [...set]) waiter.settle({ kind: "lost", reason });
    }
  }
}
