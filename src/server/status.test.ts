import assert from "node:assert/strict";
import type { ClusterStatus } from "../cluster/cluster.ts";
import { Histogram, QUEUE_WAIT_BUCKETS } from "../metrics/histogram.ts";
import type { RelayServerStats } from "../relay_server/hub.ts";
import { signerStatus, type StatusSources } from "./status.ts";

/** Sources of a loaded instance with one authorization and one relay, `subscribed` or not. */
function sources(
  subscribed: boolean,
  extra: Partial<Pick<StatusSources, "cluster" | "relayServer">> & { size?: number } = {},
): StatusSources {
  return {
    signer: {
      stats: () => ({
        workers: 2,
        busy: 0,
        queueDepth: 0,
        queueCapacity: 1024,
        queueWait: new Histogram(QUEUE_WAIT_BUCKETS).snapshot(),
        dropped: 0,
        reserved: 0,
        reservedDropped: 0,
        crashes: 0,
        completed: 0,
        timeouts: 0,
      }),
    },
    relays: {
      status: () => [{
        url: "wss://relay.example",
        connected: subscribed,
        subscribed,
        pubkeys: 1,
        connections: 1,
        reconnects: 0,
      }],
    },
    registry: { size: extra.size ?? 1, pending: 0, loaded: true },
    audit: {
      stats: { buffered: 0, dropped: 0, written: 0, failures: 0, rejected: 0, suppressed: 0 },
    },
    channel: {
      stats: { sent: 0, delivered: 0, overflows: 0, subscribers: 1, backlog: 0, dropped: 0 },
    },
    listener: {
      stats: {
        received: 0,
        dropped: 0,
        answered: 0,
        overloaded: 0,
        duplicates: 0,
        unconnectedDropped: 0,
        unconnectedUnreported: 0,
        forged: 0,
        resent: 0,
        keyUnavailable: 0,
        claimedElsewhere: 0,
        claimFailed: 0,
      },
    },
    ...extra,
  };
}

/** A cluster member's status: joined, lease held, not leaving, watching `watched` bunkers. */
function member(watched: number, change: Partial<ClusterStatus> = {}) {
  const status: ClusterStatus = {
    id: "a".repeat(32),
    generation: 3,
    instances: 2,
    servedSlots: 2048,
    fenced: false,
    leaving: false,
    changes: 0,
    expiries: 0,
    watched,
    bridge: { sent: 0, received: 0, reloads: 0, failed: 0 },
    ...change,
  };
  return { status: () => status };
}

/** An own relay endpoint, `advertised` in bunker URLs or not. */
function ownRelay(advertised: boolean): NonNullable<StatusSources["relayServer"]> {
  return {
    advertised,
    auth: "optional",
    stats: () => ({
      connections: 0,
      authenticatedConnections: 0,
      opened: 0,
      messages: 0,
      delivered: 0,
      rejectedUpgrades: 0,
      refusals: {} as RelayServerStats["refusals"],
    }),
  };
}

Deno.test("signerStatus() is ready with a subscribed relay, or nothing to watch, or an advertised own relay", () => {
  assert.equal(signerStatus(sources(true)).ready, true);
  assert.equal(signerStatus(sources(false)).ready, false);
  assert.equal(signerStatus(sources(false, { size: 0 })).ready, true);
  assert.equal(signerStatus(sources(false, { relayServer: ownRelay(true) })).ready, true);
  assert.equal(signerStatus(sources(false, { relayServer: ownRelay(false) })).ready, false);
});

Deno.test("signerStatus() of a cluster instance that watches bunkers needs a subscribed relay", () => {
  assert.equal(signerStatus(sources(true, { cluster: member(5) })).ready, true);
  assert.equal(signerStatus(sources(false, { cluster: member(5) })).ready, false);
  assert.equal(
    signerStatus(sources(false, { cluster: member(5), relayServer: ownRelay(true) })).ready,
    true,
    "an advertised own relay serves every authorization",
  );
});

Deno.test("signerStatus() of a cluster instance that watches no bunker needs no relay", () => {
  assert.equal(signerStatus(sources(false, { cluster: member(0) })).ready, true);
});

Deno.test("signerStatus() of a cluster instance is not ready before it joined, fenced or leaving", () => {
  for (
    const change of [{ instances: 0 }, { fenced: true }, { leaving: true }] as Partial<
      ClusterStatus
    >[]
  ) {
    const status = signerStatus(sources(true, { cluster: member(5, change) }));
    assert.equal(status.ready, false, JSON.stringify(change));
  }
});
