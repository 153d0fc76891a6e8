/** Settings of keycast's own NIP-46 relay endpoint (`GET /<bunker pubkey>` with a WebSocket). */

/** Whether clients must answer the NIP-42 challenge before `EVENT` and `REQ`. */
export type RelayAuthMode = "required" | "optional";

/** The limits of the endpoint; each has a `--relay-…` flag. */
export interface RelayServerLimits {
  /** Open connections per client address. Default 20. */
  maxConnectionsPerIp: number;
  /** Open subscriptions per connection. Default 20. */
  maxSubscriptions: number;
  /** Messages per second per connection (bursts of twice that). Default 100. */
  maxMessagesPerSecond: number;
  /** Largest message accepted, in bytes (UTF-8). Default 65_536. */
  maxMessageBytes: number;
  /** A connection without subscriptions that sends nothing this long is closed, in ms. Default 60_000. */
  idleTimeoutMs: number;
  /** A connection whose unsent data passes this many bytes is dropped, in bytes. Default 1_048_576. */
  maxBufferedBytes: number;
}

/** Every setting of the endpoint. */
export interface RelayServerSettings extends RelayServerLimits {
  /** NIP-42 mode. Default optional. */
  auth: RelayAuthMode;
}

/** The defaults of {@link RelayServerSettings}. */
export const DEFAULT_RELAY_SERVER_SETTINGS: Readonly<RelayServerSettings> = Object.freeze({
  auth: "optional",
  maxConnectionsPerIp: 20,
  maxSubscriptions: 20,
  maxMessagesPerSecond: 100,
  maxMessageBytes: 65_536,
  idleTimeoutMs: 60_000,
  maxBufferedBytes: 1_048_576,
});

/** How long replies are kept for a subscription that opens after its request was sent, in ms. */
export const REPLAY_WINDOW_MS = 60_000;

/** Most replies kept per bunker pubkey for replay. */
export const REPLAY_PER_BUNKER = 64;

/** Most filters in one `REQ`. */
export const MAX_FILTERS = 10;

/** Most values in one filter field (`authors`, `#p`, `ids`). */
export const MAX_FILTER_VALUES = 100;

/** Most connections open at once on the endpoint, whatever their addresses. */
export const MAX_CONNECTIONS = 10_000;

/** Most pubkeys one connection may authenticate as. */
export const MAX_AUTHED_PUBKEYS = 8;

/** How far an AUTH event's `created_at` may be from now, in seconds. */
export const AUTH_WINDOW_SECONDS = 600;
