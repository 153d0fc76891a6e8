/** Options and counters of the test relay, shared by the relay process and the test helper. */

/** Limits and switches of a relay. */
export interface RelayOptions {
  /** Require NIP-42 AUTH before REQ and EVENT. Default false. */
  authRequired?: boolean;
  /**
   * Check event signatures (~1.2 ms of CPU each with noble). Default true. Turning it off keeps
   * the cheap id check; it is meant only for benchmarks that must not measure the relay's CPU.
   */
  verifySignatures?: boolean;
  /** Largest accepted client message, in bytes; larger ones get a NOTICE. Default 262_144. */
  maxMessageBytes?: number;
  /** Most filters in one REQ. Default 50. */
  maxFilters?: number;
  /** Most open subscriptions per connection. Default 50. */
  maxSubscriptions?: number;
  /** Most values in one filter field. Default 2_000. */
  maxFilterValues?: number;
  /** Events kept before the oldest are evicted. Default 100_000. */
  maxStoredEvents?: number;
}

/** Counters served by `GET /control/stats`. */
export interface RelayStats {
  /** Open client sockets. */
  connections: number;
  /** Client sockets accepted since start. */
  connectionsTotal: number;
  /** Open subscriptions over all sockets. */
  subscriptions: number;
  /** EVENT messages received, valid or not. */
  eventsReceived: number;
  /** Events accepted (stored or delivered live), duplicates excluded. */
  eventsAccepted: number;
  /** Events currently stored. */
  stored: number;
  /** Every pubkey that completed NIP-42 AUTH since start. */
  authedPubkeys: string[];
  /** Whether AUTH is currently required. */
  authRequired: boolean;
  /** Current delay of outgoing messages, in ms. */
  delayMs: number;
  /** Whether new connections are currently refused. */
  refusing: boolean;
}
