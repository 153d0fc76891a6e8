/**
 * Test-only stand-ins for the components a status report reads (`status.ts`): a loaded instance
 * with one authorization and one relay, a cluster member, an own relay endpoint.
 */
import type { ClusterStatus } from "../cluster/cluster.ts";
import { Histogram, QUEUE_WAIT_BUCKETS } from "../metrics/histogram.ts";
import { emptyListenerStats } from "../nip46/listener_types.ts";
import type { RelayServerStats } from "../relay_server/hub.ts";
import type { StatusSources } from "./status.ts";

/** Sources of a loaded instance with one authorization and one relay, `subscribed` or not. */
export function testStatusSources(
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
    listener: { stats: emptyListenerStats() },
    ...extra,
  };
}

/** A cluster member's status: joined, lease held, not leaving, watching `watched` bunkers. */
export function testClusterSource(
  watched: number,
  change: Partial<ClusterStatus> = {},
): NonNullable<StatusSources["cluster"]> {
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
export function testOwnRelaySource(advertised: boolean): NonNullable<StatusSources["relayServer"]> {
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
