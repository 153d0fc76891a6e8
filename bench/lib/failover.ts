/**
 * The failover measure of the cluster benchmark: steady NIP-46 traffic to bunkers that one
 * instance owns, that instance killed (SIGKILL) or stopped (SIGTERM), and what the requests saw
 * until the others answered for its bunkers.
 */
import { delay } from "../../src/util/async.ts";
import type { BenchCluster, BenchInstance } from "./cluster.ts";
import { aroundSignal, type SignalOutcome, SteadyRequests } from "./steady.ts";

/** Options of {@link measureFailover}. */
export interface FailoverOptions {
  /** Name of the key the authorizations are made for. */
  key: string;
  /** Bunkers owned by the victim to send requests to. */
  bunkers: number;
  /** Time between two requests to one bunker, in ms. */
  intervalMs: number;
  /** Time after which an unanswered request counts as lost, in ms. */
  requestTimeoutMs: number;
  /** Longest wait for a client's connect and for the first answers before the signal, in ms. */
  waitMs: number;
  /** Steady traffic before the signal, and after every bunker is answered again, in ms. */
  steadyMs: number;
  /** Longest wait after the signal for the answers and the process's exit, in ms. */
  boundMs: number;
  /**
   * Wait between creating the bunkers and the signal, in ms. The instance that creates an
   * authorization watches its bunker for a while whatever its slot (`NEW_BUNKER_HOLD_MS` in
   * `src/server.ts`, 15 s); a stop measured inside that hold would show the victim answering for
   * bunkers it has already handed over. Default 0.
   */
  holdWaitMs?: number;
}

/** What one failover measured. */
export interface Failover {
  /** What each bunker's requests saw after the signal. */
  outcomes: SignalOutcome[];
  /** Latency of the answered requests sent before the signal, all bunkers, in ms. */
  before: number[];
  /** Latency of the answered requests sent after the signal, all bunkers, in ms. */
  after: number[];
  /** From the signal to the process's exit, in ms. */
  exitMs: number;
  /** Which instances own the bunkers after it, e.g. "A 2, B 2". */
  takenBy: string;
}

/**
 * Creates `bunkers` authorizations owned by `victim` through it (so no other instance holds
 * them after a creation), sends steady requests to them, sends `victim` the `signal` and
 * measures until every bunker is answered again, then for `steadyMs` more.
 */
export async function measureFailover(
  cluster: BenchCluster,
  victim: BenchInstance,
  signal: "SIGKILL" | "SIGTERM",
  options: FailoverOptions,
): Promise<Failover> {
  const urls: string[] = [];
  const bunkers: string[] = [];
  // A bunker's slot is random: about one in (live instances) falls to the victim.
  for (let i = 0; urls.length < options.bunkers && i < options.bunkers * 50; i++) {
    const body = await victim.serve.api("POST", "/api/authorizations", {
      key: options.key,
      policy: "full",
      label: `${signal} ${i}`,
    }, [201]) as { bunker_url: string; bunker_pubkey: string };
    if (cluster.ownerOf(body.bunker_pubkey) !== victim) continue;
    urls.push(body.bunker_url);
    bunkers.push(body.bunker_pubkey);
  }
  if (urls.length < options.bunkers) {
    throw new Error(`Cannot create ${options.bunkers} bunkers owned by ${victim.name}`);
  }
  await using steady = await SteadyRequests.connect(cluster.relayUrl, urls, options.waitMs);
  await delay(options.holdWaitMs ?? 0);
  steady.start(options.intervalMs, options.requestTimeoutMs);
  const warm = performance.now();
  if (!await steady.answeredSince(warm, options.waitMs)) {
    throw new Error(`Cannot get answers from ${victim.name}'s bunkers before the ${signal}`);
  }
  await delay(options.steadyMs);

  const signalAt = performance.now();
  victim.serve.kill(signal);
  victim.alive = false;
  const [exitMs] = await Promise.all([
    victim.serve.exited(options.boundMs).then(() => performance.now() - signalAt),
    steady.answeredSince(signalAt, options.boundMs),
  ]);
  await delay(options.steadyMs);
  await steady.stop();
  const owners = new Map<string, number>();
  for (const bunker of bunkers) {
    const name = cluster.ownerOf(bunker).name;
    owners.set(name, (owners.get(name) ?? 0) + 1);
  }
  const latencies = (sentBefore: boolean) =>
    steady.records.flat()
      .filter((r) => r.answeredAt !== undefined && (r.sentAt < signalAt) === sentBefore)
      .map((r) => r.answeredAt! - r.sentAt);
  return {
    outcomes: steady.records.map((records) => aroundSignal(records, signalAt)),
    before: latencies(true),
    after: latencies(false),
    exitMs,
    takenBy: [...owners].sort().map(([name, n]) => `${name} ${n}`).join(", "),
  };
}
