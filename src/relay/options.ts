/** Defaults and validation of {@link RelayPoolOptions}. */
// @ts-types="@types/ws"
import WebSocket from "ws";
import { type BackoffOptions, DEFAULT_BACKOFF } from "./backoff.ts";
import { filtersPerReqFor } from "./layout.ts";
import type { RelaySettings } from "./relay.ts";
import type { RelayPoolOptions } from "./types.ts";

/** Pool options with every default filled in. */
export type ResolvedOptions =
  & Required<Omit<RelayPoolOptions, "signAuth" | "backoff">>
  & Pick<RelayPoolOptions, "signAuth">
  & { backoff: Required<BackoffOptions> };

const NUMERIC_DEFAULTS = {
  windowSeconds: 120,
  maxPubkeysPerFilter: 500,
  maxFiltersPerReq: 10,
  maxReqBytes: 98_304,
  maxReqsPerConnection: 20,
  flushDelayMs: 5,
  connectTimeoutMs: 10_000,
  publishTimeoutMs: 10_000,
  readyTimeoutMs: 10_000,
  authTimeoutMs: 10_000,
  maxAuthPerChallenge: 20,
  pingIntervalMs: 30_000,
  pongTimeoutMs: 10_000,
  maxMessageBytes: 131_072,
  idleCloseMs: 60_000,
} as const;

/** Options that must be at least 1 (the others may be 0). */
const AT_LEAST_ONE = new Set([
  "maxPubkeysPerFilter",
  "maxFiltersPerReq",
  "maxReqBytes",
  "maxReqsPerConnection",
  "connectTimeoutMs",
  "maxMessageBytes",
  "pongTimeoutMs",
]);

/** Largest timer delay Deno honours, in ms. */
const MAX_MS = 2_147_483_647;

function checked(name: string, value: number): number {
  const min = AT_LEAST_ONE.has(name) ? 1 : 0;
  if (!Number.isSafeInteger(value) || value < min || value > MAX_MS) {
    throw new RangeError(
      `Cannot create relay pool with ${name} "${value}": need an integer from ${min} to ${MAX_MS}`,
    );
  }
  return value;
}

/** Fills in defaults; throws a `RangeError` naming the first bad number. */
export function resolveOptions(opts: RelayPoolOptions): ResolvedOptions {
  const numbers = {} as Record<keyof typeof NUMERIC_DEFAULTS, number>;
  for (const [name, fallback] of Object.entries(NUMERIC_DEFAULTS)) {
    const key = name as keyof typeof NUMERIC_DEFAULTS;
    numbers[key] = checked(name, opts[key] ?? fallback);
  }
  const backoff = { ...DEFAULT_BACKOFF, ...opts.backoff };
  checked("backoff.initialMs", backoff.initialMs);
  checked("backoff.maxMs", backoff.maxMs);
  checked("backoff.resetAfterMs", backoff.resetAfterMs);
  return {
    ...numbers,
    log: opts.log,
    onEvent: opts.onEvent,
    signAuth: opts.signAuth,
    subscribeAll: opts.subscribeAll ?? false,
    backoff,
    WebSocketImpl: opts.WebSocketImpl ?? WebSocket,
  };
}

/** The settings every {@link Relay} of a pool shares. */
export function relaySettings(
  o: ResolvedOptions,
  hooks: Pick<RelaySettings, "onCovered" | "signal">,
): RelaySettings {
  return {
    ...hooks,
    log: o.log,
    onEvent: o.onEvent,
    signAuth: o.signAuth,
    windowSeconds: o.windowSeconds,
    limits: {
      pubkeysPerFilter: o.maxPubkeysPerFilter,
      filtersPerReq: filtersPerReqFor(o.maxFiltersPerReq, o.maxReqBytes, o.maxPubkeysPerFilter),
      reqsPerConnection: o.maxReqsPerConnection,
      subscribeAll: o.subscribeAll,
    },
    connection: {
      WebSocketImpl: o.WebSocketImpl,
      connectTimeoutMs: o.connectTimeoutMs,
      pingIntervalMs: o.pingIntervalMs,
      pongTimeoutMs: o.pongTimeoutMs,
      maxMessageBytes: o.maxMessageBytes,
      backoff: o.backoff,
    },
    backoff: o.backoff,
    authTimeoutMs: o.authTimeoutMs,
    maxAuthPerChallenge: o.maxAuthPerChallenge,
  };
}
