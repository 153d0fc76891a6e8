/**
 * The listener's publisher when the endpoint runs: every reply is handed to the endpoint first
 * (a client subscribed on its bunker's path gets it at once, and it is kept for the replay
 * window), then published to the other relays; the endpoint's own URLs never reach the pool.
 */
import type { NostrEvent } from "../nostr/event.ts";
import type { ListenerPublisher } from "../nip46/listener_types.ts";
import type { RelayHub } from "./hub.ts";
import type { LocalRelayUrls } from "./urls.ts";

/** Routes replies between the endpoint and the relay pool. */
export class RoutingPublisher implements ListenerPublisher {
  readonly #hub: Pick<RelayHub, "publish">;
  readonly #urls: Pick<LocalRelayUrls, "isLocal">;
  readonly #pool: ListenerPublisher;

  constructor(
    hub: Pick<RelayHub, "publish">,
    urls: Pick<LocalRelayUrls, "isLocal">,
    pool: ListenerPublisher,
  ) {
    this.#hub = hub;
    this.#urls = urls;
    this.#pool = pool;
  }

  /**
   * Delivers `event` on the endpoint when one of `relays` is the endpoint (the request came in
   * there, or the authorization lists it), then publishes it to the external relays in `relays`.
   * Replies to clients that never used the endpoint are neither delivered nor kept there.
   */
  async publish(event: NostrEvent, relays: string[]): Promise<unknown> {
    if (relays.some((url) => this.#urls.isLocal(url))) this.#hub.publish(event);
    const external = relays.filter((url) => !this.#urls.isLocal(url));
    return external.length > 0 ? await this.#pool.publish(event, external) : [];
  }
}
