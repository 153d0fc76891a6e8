/**
 * The cluster mode of the scale benchmark (`bench/scale.ts --cluster`): several `keycast serve
 * --cluster` processes on one throwaway PostgreSQL database (created and dropped here), one
 * master key and admin token, their own temp data dirs, and a test relay process, all on
 * 127.0.0.1.
 *
 *   deno run -A bench/scale.ts --cluster [--instances 3] [--authorizations 200] [--bunkers 4]
 *                              [--lease 10s] [--interval 100] [--workers 1] [--hold-wait 16]
 *                              [--max-seconds 120]
 *
 * 1. Revoke → refused across instances. `--authorizations` are created through instance A, one
 *    at a time; after each 201 every other instance is probed until it serves the new bunker.
 *    Then each is revoked through A's admin API, and from the revoke's answer every instance
 *    (A included) is probed until it refuses. The probe is the own relay's NIP-11 request
 *    `GET /<bunker pubkey>` (`Accept: application/nostr+json`): 200 while that instance's
 *    registry holds the live authorization, 404 once it dropped it — the same check that refuses
 *    a WebSocket upgrade. Probes go back to back, one in flight per instance.
 * 2. Failover. `--bunkers` authorizations owned by the last instance (by `src/cluster/slots.ts`
 *    over the ids `/health` reports) are created through it, and a nostr-tools `BunkerSigner` per
 *    bunker sends a fresh `sign_event` every `--interval` ms through the test relay, answered or
 *    not (each bounded by 5 s). The instance is killed with SIGKILL; the figure is the time until
 *    a request sent after the kill is answered (by another instance: the owner is gone). Then a
 *    replacement instance starts, the cluster settles, and the same is done with SIGTERM on the
 *    replacement (a rolling restart's hand-over) for comparison — once its bunkers are
 *    `--hold-wait` seconds old: the instance that creates an authorization also watches it for
 *    15 s whatever its owner, which would keep the stopping one answering to the end.
 *
 * Figures are printed, never asserted. Bounded: `--max-seconds` to start each instance and per
 * phase, 10 s per probe wait and per connect, 30 s per API call, the lease × 3 + 30 s per failover.
 */
import { emptyPostgresDatabase } from "../tests/helpers/db.ts";
import { startTestRelay } from "../tests/helpers/relay.ts";
import { parseBenchArgs } from "./lib/args.ts";
import { BenchCluster, type BenchInstance, ProbeSeries, waitRelayInfo } from "./lib/cluster.ts";
import { fixed, percentiles, print, printTable } from "./lib/report.ts";
import { type Failover, measureFailover } from "./lib/failover.ts";
import type { SignalOutcome } from "./lib/steady.ts";

/** Name of the key every authorization is made for. */
const KEY = "cluster";
/** How long one probe loop or one client connect may take, in ms. */
const WAIT_MS = 10_000;
/** How long one steady request may stay unanswered before it counts as lost, in ms. */
const REQUEST_TIMEOUT_MS = 5_000;
/** Steady traffic before and after a signal, in ms. */
const STEADY_MS = 1_000;

/** Runs the cluster benchmark with `args` (the flags after `--cluster`). */
export async function clusterScale(args: readonly string[]): Promise<void> {
  const options = parseBenchArgs(args, {
    instances: 3,
    authorizations: 200,
    bunkers: 4,
    lease: "10s",
    interval: 100,
    workers: 1,
    "hold-wait": 16,
    "max-seconds": 120,
  });
  const leaseSeconds = parseLease(options.lease);
  if (options.instances < 2) {
    throw new Error(`Cannot use --instances ${options.instances}: a cluster needs at least 2`);
  }
  const maxMs = options["max-seconds"] * 1000;
  print(
    `keycast cluster benchmark: ${options.instances} instances on one PostgreSQL database, ` +
      `lease ${leaseSeconds} s, ${options.workers} signer worker(s) each`,
  );

  await using database = await emptyPostgresDatabase();
  await using relay = await startTestRelay();
  await using cluster = new BenchCluster({
    relayUrl: relay.url,
    databaseUrl: database.url,
    leaseSeconds,
    workers: options.workers,
    timeoutMs: maxMs,
  });
  const starts: string[] = [];
  for (let i = 0; i < options.instances; i++) {
    const { instance, readyMs } = await cluster.add();
    starts.push(`${instance.name} ${fixed(readyMs / 1000, 2)} s`);
  }
  const settledMs = await cluster.settled(maxMs);
  print(`spawn → ready: ${starts.join(", ")}; then settled in ${fixed(settledMs)} ms`);

  const [revoker] = cluster.instances as [BenchInstance];
  await revoker.serve.api("POST", "/api/keys", { name: KEY }, [201]);
  const propagation = await revokeAcross(cluster, revoker, options.authorizations, maxMs);
  print();
  print(
    `1. revoke → refused across instances (${propagation.count} authorizations, probe: the own ` +
      `relay's NIP-11 GET /<bunker pubkey> on each instance, 200 → 404)`,
  );
  print();
  printTable([
    ["measure", "count", "p50 ms", "p99 ms", "max ms", "at 1st probe", "timeouts"],
    ...propagation.rows,
  ]);

  const victim = cluster.instances.at(-1)!;
  const failoverOptions = {
    key: KEY,
    bunkers: options.bunkers,
    intervalMs: options.interval,
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    waitMs: WAIT_MS,
    steadyMs: STEADY_MS,
    boundMs: Math.min(maxMs, leaseSeconds * 3_000 + 30_000),
  };
  const killed = await measureFailover(cluster, victim, "SIGKILL", failoverOptions);
  const { instance: replacement, readyMs } = await cluster.add();
  const resettledMs = await cluster.settled(maxMs);
  const termed = await measureFailover(cluster, replacement, "SIGTERM", {
    ...failoverOptions,
    holdWaitMs: options["hold-wait"] * 1000,
  });
  print();
  print(
    `2. failover: ${options.bunkers} bunkers owned by the stopped instance, a sign_event to each ` +
      `every ${options.interval} ms through the test relay (lost: unanswered within ` +
      `${REQUEST_TIMEOUT_MS / 1000} s)`,
  );
  print();
  printTable([
    [
      "measure",
      `SIGKILL ${victim.name} (lease ${leaseSeconds} s)`,
      `SIGTERM ${replacement.name} (bunkers ${options["hold-wait"]} s old)`,
    ],
    ...compare("signal → first answer to a request sent after it", killed, termed),
    [
      "requests sent after the signal: lost / sent",
      `${sum(killed.outcomes, "lost")} / ${sum(killed.outcomes, "sent")}`,
      `${sum(termed.outcomes, "lost")} / ${sum(termed.outcomes, "sent")}`,
    ],
    [
      "request latency before the signal: p50 / max",
      latency(killed.before),
      latency(termed.before),
    ],
    [
      "request latency after the signal, answered ones: p50 / max",
      latency(killed.after),
      latency(termed.after),
    ],
    ["signal → process exited", `${fixed(killed.exitMs)} ms`, `${fixed(termed.exitMs)} ms`],
    ["bunkers taken over by", killed.takenBy, termed.takenBy],
  ]);
  print();
  print(
    `Replacement ${replacement.name}: spawn → ready ${fixed(readyMs / 1000, 2)} s, then the ` +
      `cluster settled (every slot served once) in ${fixed(resettledMs)} ms.`,
  );
  print(
    "After a SIGKILL the others take over once the victim's lease has passed: two thirds of " +
      "the lease to all of it after the kill (the victim renewed it every third of the lease), " +
      "plus the new owner's relay subscription. Requests sent in that " +
      "gap are lost: relays keep no NIP-46 events. A SIGTERM hands the bunkers over first " +
      "(the others subscribe before the stopping instance lets go).",
  );
}

/** What {@link revokeAcross} measured: table rows, and how many authorizations went through. */
interface Propagation {
  count: number;
  rows: string[][];
}

/**
 * Creates `count` authorizations through `revoker` (waiting after each until every instance
 * serves it), then revokes each and waits until every instance refuses it.
 */
async function revokeAcross(
  cluster: BenchCluster,
  revoker: BenchInstance,
  count: number,
  maxMs: number,
): Promise<Propagation> {
  const instances = cluster.live;
  const others = instances.filter((instance) => instance !== revoker);
  const served = new ProbeSeries(
    others.map((i) => `create (201 from ${revoker.name}) → served on ${i.name}`),
  );
  const created: { id: string; bunkerPubkey: string }[] = [];
  const started = performance.now();
  for (let i = 0; i < count && performance.now() - started < maxMs; i++) {
    const body = await revoker.serve.api("POST", "/api/authorizations", {
      key: KEY,
      policy: "full",
      label: `cluster ${i}`,
    }, [201]) as { id: string; bunker_pubkey: string };
    const from = performance.now();
    created.push({ id: body.id, bunkerPubkey: body.bunker_pubkey });
    const waits = await Promise.all(
      others.map((other) => waitRelayInfo(other.serve.url, body.bunker_pubkey, 200, from, WAIT_MS)),
    );
    waits.forEach((ms, index) => served.add(index, ms));
  }
  const refused = new ProbeSeries(
    instances.map((i) => `revoke (answer from ${revoker.name}) → refused on ${i.name}`),
  );
  const roundTrips = new ProbeSeries(
    [`DELETE /api/authorizations/:id on ${revoker.name}, round trip`],
    false,
  );
  const revokeStarted = performance.now();
  let revoked = 0;
  for (const { id, bunkerPubkey } of created) {
    if (performance.now() - revokeStarted >= maxMs) break;
    const sent = performance.now();
    await revoker.serve.api("DELETE", `/api/authorizations/${id}`, undefined, [200]);
    const from = performance.now();
    roundTrips.add(0, { ms: from - sent, probes: 0 });
    const waits = await Promise.all(
      instances.map((i) => waitRelayInfo(i.serve.url, bunkerPubkey, 404, from, WAIT_MS)),
    );
    waits.forEach((ms, index) => refused.add(index, ms));
    revoked++;
  }
  return { count: revoked, rows: [...served.rows(), ...refused.rows(), ...roundTrips.rows()] };
}

/** Rows comparing the per-bunker outcomes of both failovers: median and max over the bunkers. */
function compare(name: string, killed: Failover, termed: Failover): string[][] {
  const cell = (values: (number | undefined)[]) => {
    const known = values.filter((v): v is number => v !== undefined);
    const stats = percentiles(known);
    const missing = values.length - known.length;
    return `median ${fixed(stats.p50, 0)} ms, max ${fixed(stats.max, 0)} ms` +
      (missing > 0 ? ` (${missing} never answered)` : "");
  };
  return [
    [
      name,
      cell(killed.outcomes.map((o) => o.firstAnswerMs)),
      cell(termed.outcomes.map((o) => o.firstAnswerMs)),
    ],
    [
      "longest time between answers after the signal",
      cell(killed.outcomes.map((o) => o.longestGapMs)),
      cell(termed.outcomes.map((o) => o.longestGapMs)),
    ],
  ];
}

function latency(samples: number[]): string {
  const stats = percentiles(samples);
  return `${fixed(stats.p50, 0)} / ${fixed(stats.max, 0)} ms (${stats.count})`;
}

function sum(outcomes: SignalOutcome[], field: "sent" | "lost"): number {
  return outcomes.reduce((total, outcome) => total + outcome[field], 0);
}

/** `--lease` as serve takes it (`10`, `10s`, `1m`), in whole seconds from 2 to 300. */
function parseLease(value: string): number {
  const match = /^(\d+)(s|m)?$/.exec(value);
  const seconds = match ? Number(match[1]) * (match[2] === "m" ? 60 : 1) : NaN;
  if (!(seconds >= 2 && seconds <= 300)) {
    throw new Error(`Cannot use --lease "${value}": expected 2s to 5m, e.g. 10s`);
  }
  return seconds;
}
