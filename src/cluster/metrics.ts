/** The cluster's lines of `/metrics`, in the Prometheus text format. */
import type { ListenerStats } from "../nip46/listener_types.ts";
import type { ClusterStatus } from "./cluster.ts";

/** Renders a cluster instance's status as Prometheus metrics (each line ends with a newline). */
export function renderClusterMetrics(
  status: ClusterStatus,
  listener: Pick<ListenerStats, "claimedElsewhere" | "claimFailed">,
): string {
  const out: string[] = [];
  const metric = (name: string, type: string, help: string, value: number) =>
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
  metric(
    "keycast_cluster_instances",
    "gauge",
    "Live instances this one saw at its last heartbeat, itself included.",
    status.instances,
  );
  metric(
    "keycast_cluster_served_slots",
    "gauge",
    "Bunker slots (of 4096) this instance serves.",
    status.servedSlots,
  );
  metric(
    "keycast_cluster_watched_bunkers",
    "gauge",
    "Bunkers this instance watches on relays.",
    status.watched,
  );
  metric(
    "keycast_cluster_fenced",
    "gauge",
    "1 while this instance's lease has run out unrenewed (it serves none of its bunkers).",
    status.fenced ? 1 : 0,
  );
  metric(
    "keycast_cluster_membership_changes_total",
    "counter",
    "Changes of the instance list seen (joins, leaves, expired leases).",
    status.changes,
  );
  metric(
    "keycast_cluster_lease_expiries_total",
    "counter",
    "Instances this one found with their lease passed and took over from.",
    status.expiries,
  );
  metric(
    "keycast_cluster_claimed_elsewhere_total",
    "counter",
    "Requests another instance claimed first (answered there).",
    listener.claimedElsewhere,
  );
  metric(
    "keycast_cluster_claim_failures_total",
    "counter",
    "Requests not answered because their claim could not be made.",
    listener.claimFailed,
  );
  metric(
    "keycast_cluster_notices_sent_total",
    "counter",
    "Authorization changes sent to the other instances.",
    status.bridge.sent,
  );
  metric(
    "keycast_cluster_notices_received_total",
    "counter",
    "Authorization changes received from the other instances and applied.",
    status.bridge.received,
  );
  metric(
    "keycast_cluster_reloads_total",
    "counter",
    "Full reloads after the notification connection came back.",
    status.bridge.reloads,
  );
  return out.map((line) => `${line}\n`).join("");
}
