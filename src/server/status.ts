/**
 * What `/health`, `/health/ready` and `/metrics` report, read from the running components. The
 * readiness rule lives here: authorizations loaded, and — when there is anything to watch on
 * relays — at least one relay subscribed (or the own relay advertised); a cluster instance also:
 * joined, its lease held, not leaving.
 */
import type { AuditWriter } from "../audit/writer.ts";
import type { AuthorizationChannel } from "../channel/channel.ts";
import type { SignerStatus } from "../http/types.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { Listener } from "../nip46/listener.ts";
import type { AuthorizationRegistry } from "../nip46/registry.ts";
import type { RelayPool } from "../relay/pool.ts";
import type { SignerPool } from "../signer/pool.ts";
import type { RelayServerStats } from "../relay_server/hub.ts";
import { renderRelayServerMetrics } from "../relay_server/metrics.ts";
import type { RelayAuthMode } from "../relay_server/settings.ts";
import type { Cluster } from "../cluster/cluster.ts";
import { renderClusterMetrics } from "../cluster/metrics.ts";

/** The running components a status report reads. */
export interface StatusSources {
  signer: Pick<SignerPool, "stats">;
  relays: Pick<RelayPool, "status">;
  registry: Pick<AuthorizationRegistry, "size" | "pending" | "loaded">;
  audit: Pick<AuditWriter, "stats">;
  channel: Pick<AuthorizationChannel, "stats">;
  listener: Pick<Listener, "stats">;
  /** keycast's own relay endpoint; `advertised` when bunker URLs list it (`--public-url`). */
  relayServer?: { stats(): RelayServerStats; advertised: boolean; auth: RelayAuthMode };
  /** With `--cluster`: this instance's membership. */
  cluster?: Pick<Cluster, "status">;
}

/** The listener's state for `/health` and `/health/ready`. */
export function signerStatus(sources: StatusSources): SignerStatus {
  const pool = sources.signer.stats();
  const relays = sources.relays.status();
  const { registry } = sources;
  const cluster = sources.cluster?.status();
  // With nothing to watch there is nothing to subscribe: ready once loaded. A cluster instance
  // watches only its slots' bunkers, and may own none (the own relay and HTTP signing still
  // answer for every one); one that does watch some needs a relay, like a single instance.
  const nothingToWatch = cluster ? cluster.watched === 0 : registry.size === 0;
  // An advertised own relay serves every authorization as soon as it is loaded.
  const relaysServe = nothingToWatch || sources.relayServer?.advertised === true ||
    relays.some((relay) => relay.subscribed);
  // A cluster instance serves once it has joined and while its lease holds.
  const member = !cluster || (cluster.instances > 0 && !cluster.fenced && !cluster.leaving);
  return {
    loadedAuthorizations: registry.size,
    pendingCommands: registry.pending,
    workers: pool.workers,
    queueDepth: pool.queueDepth,
    ready: registry.loaded && member && relaysServe,
    relays: relays.map(({ url, connected, subscribed }) => ({ url, connected, subscribed })),
    audit: sources.audit.stats,
    ...(sources.relayServer ? { ownRelay: ownRelayStatus(sources.relayServer) } : {}),
    ...(cluster ? { cluster } : {}),
  };
}

function ownRelayStatus(relay: NonNullable<StatusSources["relayServer"]>) {
  const stats = relay.stats();
  return {
    advertised: relay.advertised,
    auth: relay.auth,
    connections: stats.connections,
    authenticatedConnections: stats.authenticatedConnections,
  };
}

/** `GET /metrics` in the Prometheus text format. */
export function renderMetrics(metrics: Metrics, sources: StatusSources): string {
  const pool = sources.signer.stats();
  const own = sources.relayServer ? renderRelayServerMetrics(sources.relayServer.stats()) : "";
  const cluster = sources.cluster
    ? renderClusterMetrics(sources.cluster.status(), sources.listener.stats)
    : "";
  return metrics.render({
    queueDepth: pool.queueDepth,
    queueCapacity: pool.queueCapacity,
    queueWait: pool.queueWait,
    queueDropped: pool.dropped + pool.reservedDropped,
    workers: pool.workers,
    workersBusy: pool.busy,
    workerCrashes: pool.crashes,
    authorizationsLoaded: sources.registry.size,
    channelBacklog: sources.channel.stats.backlog,
    channelOverflows: sources.channel.stats.overflows,
    auditBuffered: sources.audit.stats.buffered,
    auditDropped: sources.audit.stats.dropped,
    auditRejected: sources.audit.stats.rejected,
    auditSuppressed: sources.audit.stats.suppressed,
    relays: sources.relays.status(),
    eventsReceived: sources.listener.stats.received,
    eventsDropped: sources.listener.stats.dropped,
    unconnectedDropped: sources.listener.stats.unconnectedDropped,
    unconnectedUnreported: sources.listener.stats.unconnectedUnreported,
    forgedEvents: sources.listener.stats.forged,
    repliesResent: sources.listener.stats.resent,
    keyUnavailable: sources.listener.stats.keyUnavailable,
  }) + own + cluster;
}
