/** The relay pool: shared relay connections, NIP-46 subscriptions, publish-with-OK, NIP-42. */
export { type PublishOptions, type ReadyOptions, RelayPool } from "./pool.ts";
export type {
  NostrEvent,
  PublishResult,
  RelayPoolOptions,
  RelayStatus,
  SignAuth,
  WebSocketConstructor,
} from "./types.ts";
export type { BackoffOptions } from "./backoff.ts";
export { isTransientRefusal } from "./publish.ts";
