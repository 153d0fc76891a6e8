/**
 * Prometheus metrics in the text exposition format (version 0.0.4), written without a client
 * library: a few counters and one histogram fed by the listener's decisions, plus gauges read from
 * the live components at scrape time. Label values are bounded (unknown methods count as `other`,
 * outcomes are the fixed error prefixes), so a hostile client cannot grow the series.
 */
import { isNip46Method } from "../nostr/nip46.ts";
import type { HistogramSnapshot } from "./histogram.ts";

/** Latency histogram bucket bounds, in seconds. */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

const OUTCOMES = new Set([
  "unauthorized",
  "forbidden",
  "rate-limited",
  "unsupported",
  "invalid",
  "overloaded",
  "expired",
  "revoked",
]);

/** Gauges read at scrape time; an optional one that is omitted is not rendered. */
export interface MetricsSnapshot {
  queueDepth: number;
  /** Signing jobs that may wait for a worker before requests are answered `overloaded:`. */
  queueCapacity: number;
  /** How long signing jobs waited for a worker before they started, in seconds. */
  queueWait: HistogramSnapshot;
  queueDropped: number;
  workers: number;
  workersBusy: number;
  workerCrashes: number;
  authorizationsLoaded: number;
  channelBacklog: number;
  channelOverflows: number;
  auditBuffered: number;
  auditDropped: number;
  /** Audit rows the database refused on their own (set aside). */
  auditRejected?: number;
  /** Audit rows of never-connected clients not written (rate-limited). */
  auditSuppressed?: number;
  relays: { url: string; connected: boolean; subscribed: boolean }[];
  eventsReceived: number;
  eventsDropped: number;
  /** Requests of unconnected senders over their rate limits (listener `unconnectedDropped`). */
  unconnectedDropped?: number;
  /**
   * Decisions about unconnected senders over their shared audit budget, not reported (listener
   * `unconnectedUnreported`).
   */
  unconnectedUnreported?: number;
  /** Events a worker found invalid, dropped with no effect (listener `forged`). */
  forgedEvents?: number;
  /** Kept replies published again for a repeated request id (listener `resent`). */
  repliesResent?: number;
  /** Requests that met a key this server cannot open (listener `keyUnavailable`). */
  keyUnavailable?: number;
}

/** Counts NIP-46 requests and renders everything for `GET /metrics`. */
export class Metrics {
  readonly #requests = new Map<string, number>();
  readonly #buckets = new Map<string, number[]>();
  readonly #sums = new Map<string, number>();
  readonly #counts = new Map<string, number>();

  /** Records one answered request. `error` is the reply's error, if any. */
  observeRequest(method: string, error: string | null | undefined, latencyMs: number): void {
    const name = isNip46Method(method) ? method : "other";
    const prefix = error ? error.slice(0, error.indexOf(":")) : "ok";
    const outcome = error ? (OUTCOMES.has(prefix) ? prefix : "error") : "ok";
    const key = `${name}\u0000${outcome}`;
    this.#requests.set(key, (this.#requests.get(key) ?? 0) + 1);
    const seconds = latencyMs / 1000;
    const buckets = this.#buckets.get(name) ?? new Array(LATENCY_BUCKETS.length).fill(0);
    for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
      if (seconds <= LATENCY_BUCKETS[i]!) buckets[i]++;
    }
    this.#buckets.set(name, buckets);
    this.#sums.set(name, (this.#sums.get(name) ?? 0) + seconds);
    this.#counts.set(name, (this.#counts.get(name) ?? 0) + 1);
  }

  /** The exposition text. */
  render(snapshot: MetricsSnapshot): string {
    const out: string[] = [];
    const metric = (name: string, type: string, help: string) =>
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);

    metric("keycast_requests_total", "counter", "NIP-46 requests answered, by method and outcome.");
    for (const [key, value] of [...this.#requests].sort()) {
      const [method, outcome] = key.split("\u0000");
      out.push(`keycast_requests_total{method="${method}",outcome="${outcome}"} ${value}`);
    }
    metric("keycast_request_duration_seconds", "histogram", "Time from event to signed reply.");
    for (const [method, buckets] of [...this.#buckets].sort()) {
      LATENCY_BUCKETS.forEach((bound, i) =>
        out.push(
          `keycast_request_duration_seconds_bucket{method="${method}",le="${bound}"} ${buckets[i]}`,
        )
      );
      const count = this.#counts.get(method) ?? 0;
      out.push(`keycast_request_duration_seconds_bucket{method="${method}",le="+Inf"} ${count}`);
      out.push(
        `keycast_request_duration_seconds_sum{method="${method}"} ${this.#sums.get(method)}`,
      );
      out.push(`keycast_request_duration_seconds_count{method="${method}"} ${count}`);
    }
    const gauge = (name: string, help: string, value: number, type = "gauge") => {
      metric(name, type, help);
      out.push(`${name} ${value}`);
    };
    gauge("keycast_signer_queue_depth", "Signing jobs waiting for a worker.", snapshot.queueDepth);
    gauge(
      "keycast_signer_queue_capacity",
      "Signing jobs that may wait for a worker; more are answered overloaded.",
      snapshot.queueCapacity,
    );
    metric(
      "keycast_signer_queue_wait_seconds",
      "histogram",
      "Time signing jobs waited for a worker before they started.",
    );
    const wait = snapshot.queueWait;
    wait.bounds.forEach((bound, i) =>
      out.push(`keycast_signer_queue_wait_seconds_bucket{le="${bound}"} ${wait.cumulative[i]}`)
    );
    out.push(`keycast_signer_queue_wait_seconds_bucket{le="+Inf"} ${wait.count}`);
    out.push(`keycast_signer_queue_wait_seconds_sum ${wait.sum}`);
    out.push(`keycast_signer_queue_wait_seconds_count ${wait.count}`);
    gauge(
      "keycast_signer_dropped_total",
      "Jobs refused because the queue was full.",
      snapshot.queueDropped,
      "counter",
    );
    gauge("keycast_signer_workers", "Signing workers running.", snapshot.workers);
    gauge("keycast_signer_workers_busy", "Signing workers holding a job.", snapshot.workersBusy);
    gauge(
      "keycast_signer_worker_crashes_total",
      "Workers replaced after a crash or hang.",
      snapshot.workerCrashes,
      "counter",
    );
    gauge(
      "keycast_authorizations_loaded",
      "Live authorizations held by the listener.",
      snapshot.authorizationsLoaded,
    );
    gauge(
      "keycast_channel_backlog",
      "Authorization commands not yet applied.",
      snapshot.channelBacklog,
    );
    gauge(
      "keycast_channel_overflows_total",
      "Backlogs collapsed into a reload.",
      snapshot.channelOverflows,
      "counter",
    );
    gauge("keycast_audit_buffered", "Audit rows waiting for the database.", snapshot.auditBuffered);
    gauge(
      "keycast_audit_dropped_total",
      "Audit rows dropped because the buffer was full.",
      snapshot.auditDropped,
      "counter",
    );
    if (snapshot.auditRejected !== undefined) {
      gauge(
        "keycast_audit_rejected_total",
        "Audit rows the database refused on their own, set aside so the rest could land.",
        snapshot.auditRejected,
        "counter",
      );
    }
    if (snapshot.auditSuppressed !== undefined) {
      gauge(
        "keycast_audit_suppressed_total",
        "Audit rows of never-connected clients not written because they came too fast.",
        snapshot.auditSuppressed,
        "counter",
      );
    }
    gauge(
      "keycast_events_received_total",
      "Relay events handed to the listener.",
      snapshot.eventsReceived,
      "counter",
    );
    gauge(
      "keycast_events_dropped_total",
      "Relay events dropped without a reply.",
      snapshot.eventsDropped,
      "counter",
    );
    if (snapshot.unconnectedDropped !== undefined) {
      gauge(
        "keycast_unconnected_dropped_total",
        "Requests from unconnected senders dropped by their rate limits, before any worker job.",
        snapshot.unconnectedDropped,
        "counter",
      );
    }
    if (snapshot.unconnectedUnreported !== undefined) {
      gauge(
        "keycast_unconnected_unreported_total",
        "Decisions about unconnected senders over their audit budget: answered, not audited.",
        snapshot.unconnectedUnreported,
        "counter",
      );
    }
    if (snapshot.forgedEvents !== undefined) {
      gauge(
        "keycast_forged_events_total",
        "Events whose signature or id did not verify in a worker, dropped with no effect.",
        snapshot.forgedEvents,
        "counter",
      );
    }
    if (snapshot.repliesResent !== undefined) {
      gauge(
        "keycast_replies_resent_total",
        "Kept replies published again for a repeated request id.",
        snapshot.repliesResent,
        "counter",
      );
    }
    if (snapshot.keyUnavailable !== undefined) {
      gauge(
        "keycast_key_unavailable_total",
        "Requests that needed a key this server cannot open (see the error log).",
        snapshot.keyUnavailable,
        "counter",
      );
    }
    metric("keycast_relay_connected", "gauge", "1 while the relay connection is open.");
    for (const relay of snapshot.relays) {
      out.push(`keycast_relay_connected{url="${label(relay.url)}"} ${relay.connected ? 1 : 0}`);
    }
    metric("keycast_relay_subscribed", "gauge", "1 while the relay confirmed every subscription.");
    for (const relay of snapshot.relays) {
      out.push(`keycast_relay_subscribed{url="${label(relay.url)}"} ${relay.subscribed ? 1 : 0}`);
    }
    return out.join("\n") + "\n";
  }
}

function label(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}
