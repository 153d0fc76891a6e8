/** The endpoint's lines of `/metrics`, in the Prometheus text format. */
import type { RelayServerStats } from "./hub.ts";

/** Renders `stats` as Prometheus metrics (each line ends with a newline). */
export function renderRelayServerMetrics(stats: RelayServerStats): string {
  const out: string[] = [];
  const metric = (name: string, type: string, help: string, value: number) =>
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name} ${value}`);
  metric(
    "keycast_own_relay_connections",
    "gauge",
    "Open connections to keycast's own relay.",
    stats.connections,
  );
  metric(
    "keycast_own_relay_authenticated_connections",
    "gauge",
    "Open connections to keycast's own relay that passed NIP-42.",
    stats.authenticatedConnections,
  );
  metric(
    "keycast_own_relay_connections_opened_total",
    "counter",
    "Connections opened to keycast's own relay.",
    stats.opened,
  );
  metric(
    "keycast_own_relay_upgrades_rejected_total",
    "counter",
    "Upgrades refused before the socket opened (unknown path, per-address cap).",
    stats.rejectedUpgrades,
  );
  metric(
    "keycast_own_relay_messages_total",
    "counter",
    "Messages received by keycast's own relay.",
    stats.messages,
  );
  metric(
    "keycast_own_relay_delivered_total",
    "counter",
    "Replies delivered to subscriptions on keycast's own relay.",
    stats.delivered,
  );
  out.push(
    "# HELP keycast_own_relay_refusals_total Refusals and closes by keycast's own relay, by reason.",
    "# TYPE keycast_own_relay_refusals_total counter",
  );
  for (const [reason, count] of Object.entries(stats.refusals)) {
    out.push(`keycast_own_relay_refusals_total{reason="${reason}"} ${count}`);
  }
  return out.join("\n") + "\n";
}
