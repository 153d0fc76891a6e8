/** Public types of the relay pool. */
// @ts-types="@types/ws"
import type WebSocket from "ws";
import type { Log } from "../log.ts";
import type { NostrEvent } from "../nostr/event.ts";
import type { BackoffOptions } from "./backoff.ts";

/** A signed Nostr event as sent to relays. */
export type { NostrEvent };

/** Outcome of publishing one event to one relay. */
export interface PublishResult {
  /** Normalized relay URL. */
  url: string;
  /** True when the relay answered `["OK", id, true, …]`. */
  ok: boolean;
  /** The relay's OK message, or our reason (`timeout: …`, `aborted: …`, `closed: …`). */
  message: string;
}

/** State of one relay, for `/health` and metrics. */
export interface RelayStatus {
  /** Normalized relay URL, with any query shown as `?…`. */
  url: string;
  /** True when every connection this relay needs is open. */
  connected: boolean;
  /** True when every REQ for this relay is open and answered EOSE. */
  subscribed: boolean;
  /** Bunker pubkeys watched on this relay. */
  pubkeys: number;
  /** Open-or-wanted WebSocket connections to this relay. */
  connections: number;
  /** Reconnect attempts since the pool started. */
  reconnects: number;
  /** Last connection error or CLOSED/NOTICE reason, if any. */
  lastError?: string;
  /** When the last EVENT arrived from this relay, in ms since the epoch. */
  lastEventAt?: number;
}

/** Signs NIP-42 AUTH events (kind 22242) for the given bunker pubkeys; may return fewer. */
export type SignAuth = (
  challenge: string,
  relayUrl: string,
  bunkerPubkeys: string[],
) => Promise<NostrEvent[]>;

/** The `ws` WebSocket class, or a compatible one for tests. */
export type WebSocketConstructor = typeof WebSocket;

/** Options of `new RelayPool(...)`. */
export interface RelayPoolOptions {
  /** Structured logger. */
  log: Log;
  /** Receives each raw, unverified event with the normalized URL of the relay it came from. */
  onEvent: (event: unknown, relayUrl: string) => void;
  /** Signs NIP-42 AUTH events; without it, AUTH challenges are ignored. */
  signAuth?: SignAuth;
  /** Subscriptions start this many seconds in the past (`since`). Default 120. */
  windowSeconds?: number;
  /** Most `#p` values in one filter. Default 500. */
  maxPubkeysPerFilter?: number;
  /** Most filters in one REQ. Default 10 (fewer when `maxReqBytes` requires). */
  maxFiltersPerReq?: number;
  /** Largest REQ message, in bytes; bounds filters per REQ. Default 98_304 (strfry accepts 128 KiB). */
  maxReqBytes?: number;
  /** Most REQs on one connection before another connection to the same relay opens. Default 20. */
  maxReqsPerConnection?: number;
  /** Subscribe to all NIP-46 events (with `since`) and let the listener filter. Default false. */
  subscribeAll?: boolean;
  /** Delay that coalesces watch()/unwatch() calls into few REQs, in ms. Default 5. */
  flushDelayMs?: number;
  /** Time allowed to open a WebSocket, in ms. Default 10_000. */
  connectTimeoutMs?: number;
  /** Default time allowed for one publish() to all its relays, in ms. Default 10_000. */
  publishTimeoutMs?: number;
  /** Default time ready() waits, in ms. Default 10_000. */
  readyTimeoutMs?: number;
  /** Time allowed for signing and confirming NIP-42 AUTH, in ms. Default 10_000. */
  authTimeoutMs?: number;
  /** Most AUTH events signed per challenge on one connection. Default 20. */
  maxAuthPerChallenge?: number;
  /** Reconnect and retry backoff. Default 250 ms doubling to 30 s, reset after 15 s. */
  backoff?: BackoffOptions;
  /** Interval between keepalive pings, in ms. Default 30_000. */
  pingIntervalMs?: number;
  /** A ping unanswered this long terminates the socket, in ms. Default 10_000. */
  pongTimeoutMs?: number;
  /** Largest relay message parsed, in bytes; larger ones are dropped. Default 131_072. */
  maxMessageBytes?: number;
  /** A relay with nothing watched and nothing to publish closes after this long, in ms. Default 60_000. */
  idleCloseMs?: number;
  /** WebSocket class; default `ws`. */
  WebSocketImpl?: WebSocketConstructor;
}

/** A timer handle (`setTimeout`'s return type, which differs between Deno and Node typings). */
export type Timer = ReturnType<typeof setTimeout>;
