import assert from "node:assert/strict";
import { Histogram, QUEUE_WAIT_BUCKETS } from "./histogram.ts";
import { Metrics, type MetricsSnapshot } from "./metrics.ts";

const SNAPSHOT: MetricsSnapshot = {
  queueDepth: 3,
  queueCapacity: 1024,
  queueWait: new Histogram(QUEUE_WAIT_BUCKETS).snapshot(),
  queueDropped: 1,
  workers: 2,
  workersBusy: 1,
  workerCrashes: 0,
  authorizationsLoaded: 5,
  channelBacklog: 0,
  channelOverflows: 0,
  auditBuffered: 7,
  auditDropped: 0,
  relays: [{ url: 'ws://127.0.0.1:7777/"x', connected: true, subscribed: false }],
  eventsReceived: 10,
  eventsDropped: 2,
};

Deno.test("Metrics.render() counts requests by method and outcome with bounded labels", () => {
  const metrics = new Metrics();
  metrics.observeRequest("sign_event", null, 4);
  metrics.observeRequest("sign_event", "forbidden: kind 0", 2);
  metrics.observeRequest("get_secret_key", "unsupported: get_secret_key", 1);
  metrics.observeRequest("x".repeat(50), "weird failure", 1);
  const text = metrics.render(SNAPSHOT);
  assert.match(text, /keycast_requests_total\{method="sign_event",outcome="ok"\} 1/);
  assert.match(text, /keycast_requests_total\{method="sign_event",outcome="forbidden"\} 1/);
  assert.match(text, /keycast_requests_total\{method="other",outcome="unsupported"\} 1/);
  assert.match(text, /keycast_requests_total\{method="other",outcome="error"\} 1/);
  assert.equal(text.includes("get_secret_key"), false);
});

Deno.test("Metrics.render() writes a cumulative latency histogram and the gauges", () => {
  const metrics = new Metrics();
  metrics.observeRequest("ping", null, 0.5);
  metrics.observeRequest("ping", null, 30);
  const text = metrics.render(SNAPSHOT);
  assert.match(text, /keycast_request_duration_seconds_bucket\{method="ping",le="0\.001"\} 1/);
  assert.match(text, /keycast_request_duration_seconds_bucket\{method="ping",le="0\.025"\} 1/);
  assert.match(text, /keycast_request_duration_seconds_bucket\{method="ping",le="0\.05"\} 2/);
  assert.match(text, /keycast_request_duration_seconds_bucket\{method="ping",le="\+Inf"\} 2/);
  assert.match(text, /keycast_request_duration_seconds_count\{method="ping"\} 2/);
  assert.match(text, /keycast_signer_queue_depth 3\n/);
  assert.match(text, /keycast_authorizations_loaded 5\n/);
  assert.match(text, /keycast_audit_buffered 7\n/);
  assert.ok(text.includes('keycast_relay_connected{url="ws://127.0.0.1:7777/\\"x"} 1'), text);
  assert.match(text, /# TYPE keycast_request_duration_seconds histogram/);
  for (const line of text.trim().split("\n")) {
    assert.equal(/^(# (HELP|TYPE) \S+ .+|[a-z_]+(\{.*\})? [0-9.e+-]+)$/.test(line), true, line);
  }
});

Deno.test("Metrics.render() writes the listener's abuse counters when given, and only then", () => {
  const metrics = new Metrics();
  const without = metrics.render(SNAPSHOT);
  assert.equal(without.includes("keycast_unconnected_dropped_total"), false);
  assert.equal(without.includes("keycast_replies_resent_total"), false);
  assert.equal(without.includes("keycast_key_unavailable_total"), false);
  assert.equal(without.includes("keycast_unconnected_unreported_total"), false);
  assert.equal(without.includes("keycast_forged_events_total"), false);
  const text = metrics.render({
    ...SNAPSHOT,
    unconnectedDropped: 990,
    unconnectedUnreported: 290,
    forgedEvents: 481,
    repliesResent: 3,
    keyUnavailable: 2,
  });
  assert.match(
    text,
    /# TYPE keycast_unconnected_unreported_total counter\nkeycast_unconnected_unreported_total 290\n/,
  );
  assert.match(
    text,
    /# TYPE keycast_forged_events_total counter\nkeycast_forged_events_total 481\n/,
  );
  assert.match(
    text,
    /# TYPE keycast_key_unavailable_total counter\nkeycast_key_unavailable_total 2\n/,
  );
  assert.match(
    text,
    /# TYPE keycast_unconnected_dropped_total counter\nkeycast_unconnected_dropped_total 990\n/,
  );
  assert.match(
    text,
    /# TYPE keycast_replies_resent_total counter\nkeycast_replies_resent_total 3\n/,
  );
});

Deno.test("Metrics.render() writes the signer queue capacity and a cumulative queue wait histogram", () => {
  const wait = new Histogram(QUEUE_WAIT_BUCKETS);
  for (const seconds of [0, 0.002, 0.03, 0.03, 7, -1]) wait.observe(seconds);
  const text = new Metrics().render({ ...SNAPSHOT, queueWait: wait.snapshot() });
  assert.match(
    text,
    /# TYPE keycast_signer_queue_capacity gauge\nkeycast_signer_queue_capacity 1024\n/,
  );
  assert.match(text, /# TYPE keycast_signer_queue_wait_seconds histogram\n/);
  const buckets = text.split("\n").filter((line) =>
    line.startsWith("keycast_signer_queue_wait_seconds_bucket")
  );
  assert.deepEqual(buckets, [
    'keycast_signer_queue_wait_seconds_bucket{le="0.001"} 2',
    'keycast_signer_queue_wait_seconds_bucket{le="0.0025"} 3',
    'keycast_signer_queue_wait_seconds_bucket{le="0.005"} 3',
    'keycast_signer_queue_wait_seconds_bucket{le="0.01"} 3',
    'keycast_signer_queue_wait_seconds_bucket{le="0.025"} 3',
    'keycast_signer_queue_wait_seconds_bucket{le="0.05"} 5',
    'keycast_signer_queue_wait_seconds_bucket{le="0.1"} 5',
    'keycast_signer_queue_wait_seconds_bucket{le="0.25"} 5',
    'keycast_signer_queue_wait_seconds_bucket{le="0.5"} 5',
    'keycast_signer_queue_wait_seconds_bucket{le="1"} 5',
    'keycast_signer_queue_wait_seconds_bucket{le="2.5"} 5',
    'keycast_signer_queue_wait_seconds_bucket{le="+Inf"} 6',
  ]);
  assert.match(text, /\nkeycast_signer_queue_wait_seconds_sum 7\.062\n/);
  assert.match(text, /\nkeycast_signer_queue_wait_seconds_count 6\n/);
});
