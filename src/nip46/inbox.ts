/**
 * Relay events on their way to the listener. The relay pool is built before the listener (the
 * listener publishes through it), so the pool delivers into this inbox, which hands events to the
 * listener once attached and drops them after `close()` (shutdown: no new requests).
 */

/** Where relay events go. */
export interface EventHandler {
  handleEvent(event: unknown, relayUrl: string): void;
}

/** Forwards relay events to the attached handler while open. */
export class RelayInbox {
  #handler: EventHandler | undefined;
  #open = true;

  /** The callback for the relay pool's `onEvent`. */
  readonly deliver = (event: unknown, relayUrl: string): void => {
    if (this.#open) this.#handler?.handleEvent(event, relayUrl);
  };

  /** Starts handing events to `handler`. */
  attach(handler: EventHandler): void {
    this.#handler = handler;
  }

  /** Stops forwarding: later events are dropped. */
  close(): void {
    this.#open = false;
  }
}
