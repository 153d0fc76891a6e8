/**
 * `keycast serve --cluster` instances for the benchmarks: child processes on one PostgreSQL
 * database, sharing one master key and one admin token, each with its own temp data dir, all
 * watching bunkers on one test relay. Also the probes the cluster benchmark reads them with:
 * `/health`'s cluster block, and the own relay's NIP-11 answer on `GET /<bunker pubkey>` (200
 * while the instance's registry holds a live authorization for it, 404 once it does not).
 */
import { SLOT_COUNT, slotOf, slotsOf } from "../../src/cluster/slots.ts";
import { deadline, delay } from "../../src/util/async.ts";
import { fixed, percentiles } from "./report.ts";
import { type BenchServe, startBenchServe } from "./serve.ts";
import type { HealthBody } from "../../src/http/health.ts";

/** Options of {@link BenchCluster}. */
export interface BenchClusterOptions {
  /** The test relay every instance watches bunkers on. */
  relayUrl: string;
  /** The PostgreSQL database they share. */
  databaseUrl: string;
  /** Each instance's lease, in seconds (`--lease`). */
  leaseSeconds: number;
  /** Signer workers per instance (`RPC_WORKER_COUNT`). */
  workers: number;
  /** How long one instance may take to get ready, in ms. */
  timeoutMs: number;
}

/** One instance: its name in the report, its process, and its cluster id (new at every start). */
export interface BenchInstance {
  /** A, B, C … in start order. */
  name: string;
  serve: BenchServe;
  /** The id it registered with (`/health` → `cluster.id`). */
  id: string;
  /** Whether the benchmark has not stopped or killed it. */
  alive: boolean;
}

/** The cluster block of `/health`. */
export type ClusterHealth = NonNullable<HealthBody["cluster"]>;

/** A set of cluster instances; dispose stops them all and removes their data dirs. */
export class BenchCluster implements AsyncDisposable {
  /** Every instance started, in order, the stopped ones included. */
  readonly instances: BenchInstance[] = [];
  readonly #options: BenchClusterOptions;
  readonly #env: Record<string, string>;
  readonly #dataDirs: string[] = [];

  constructor(options: BenchClusterOptions) {
    this.#options = options;
    const masterKey = crypto.getRandomValues(new Uint8Array(32));
    const adminToken = crypto.getRandomValues(new Uint8Array(24));
    this.#env = {
      DATABASE_URL: options.databaseUrl,
      KEYCAST_MASTER_KEY: btoa(String.fromCharCode(...masterKey)),
      KEYCAST_ADMIN_TOKEN: btoa(String.fromCharCode(...adminToken)),
      RPC_WORKER_COUNT: String(options.workers),
      // Should the benchmark die, the instances stop by themselves.
      KEYCAST_EXIT_WITH_PARENT: "1",
    };
  }

  /** The test relay the instances watch bunkers on. */
  get relayUrl(): string {
    return this.#options.relayUrl;
  }

  /** The instances not stopped. */
  get live(): BenchInstance[] {
    return this.instances.filter((instance) => instance.alive);
  }

  /** Starts one more instance and waits until it is ready; resolves with it and the ms taken. */
  async add(): Promise<{ instance: BenchInstance; readyMs: number }> {
    const started = performance.now();
    const dataDir = await Deno.makeTempDir({ prefix: "keycast-bench-cluster-" });
    this.#dataDirs.push(dataDir);
    const serve = await startBenchServe({
      relays: [this.#options.relayUrl],
      dataDir,
      env: this.#env,
      args: ["--cluster", "--lease", `${this.#options.leaseSeconds}s`],
      timeoutMs: this.#options.timeoutMs,
    });
    const name = String.fromCharCode(65 + this.instances.length);
    const instance: BenchInstance = { name, serve, id: "", alive: true };
    this.instances.push(instance);
    await serve.waitReady(this.#options.timeoutMs);
    const readyMs = performance.now() - started;
    instance.id = (await clusterHealth(serve)).id;
    return { instance, readyMs };
  }

  /**
   * Polls every live instance's `/health` until all see each other and their shares add up to
   * every slot exactly once (no hand-over overlap left); resolves with the ms taken.
   */
  async settled(timeoutMs: number): Promise<number> {
    const started = performance.now();
    while (performance.now() - started < timeoutMs) {
      const live = this.live;
      const health = await Promise.all(live.map((instance) => clusterHealth(instance.serve)));
      const served = health.reduce((sum, h) => sum + h.served_slots, 0);
      const agreed = health.every((h) => h.instances === live.length && !h.leaving && !h.fenced);
      if (agreed && served === SLOT_COUNT) return performance.now() - started;
      await delay(20);
    }
    throw new Error(`Cannot see the cluster settle within ${timeoutMs} ms`);
  }

  /** The live instance that serves `bunkerPubkey`, by the slots rule of `src/cluster/slots.ts`. */
  ownerOf(bunkerPubkey: string): BenchInstance {
    const live = this.live;
    const ids = live.map((instance) => instance.id);
    const slot = slotOf(bunkerPubkey);
    const owner = live.find((instance) => slotsOf(instance.id, ids).has(slot));
    if (!owner) throw new Error(`Cannot find the owner of slot ${slot}`);
    return owner;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    // Every one, not only the live: a stopped instance that has not exited yet is killed here.
    await Promise.all(this.instances.map(async (instance) => {
      instance.alive = false;
      await instance.serve.stop();
    }));
    for (const dir of this.#dataDirs) await Deno.remove(dir, { recursive: true });
  }
}

/** The cluster block of an instance's `/health`. */
export async function clusterHealth(serve: BenchServe): Promise<ClusterHealth> {
  const body = await serve.api("GET", "/health", undefined, [200]) as { cluster?: ClusterHealth };
  if (!body.cluster) throw new Error(`Cannot read the cluster block of ${serve.url}/health`);
  return body.cluster;
}

/** Status of the own relay's NIP-11 answer for `bunkerPubkey` on `baseUrl` (200 or 404). */
export async function relayInfoStatus(baseUrl: string, bunkerPubkey: string): Promise<number> {
  const response = await deadline(
    fetch(`${baseUrl}/${bunkerPubkey}`, { headers: { accept: "application/nostr+json" } }),
    5_000,
  );
  await response.body?.cancel();
  return response.status;
}

/** When a probe loop saw the status it waited for. */
export interface ProbeResult {
  /** From the loop's start time to the answer with that status, in ms. */
  ms: number;
  /** Probes sent, that one included (1: the status was already there at the first probe). */
  probes: number;
}

/**
 * Probes `bunkerPubkey`'s NIP-11 on `baseUrl` back to back (one request in flight) until it
 * answers `status`; resolves with the time from `from` (a `performance.now()` time) to that
 * answer, or undefined when `timeoutMs` passed first.
 */
export async function waitRelayInfo(
  baseUrl: string,
  bunkerPubkey: string,
  status: number,
  from: number,
  timeoutMs: number,
): Promise<ProbeResult | undefined> {
  let probes = 0;
  while (performance.now() - from < timeoutMs) {
    probes++;
    if (await relayInfoStatus(baseUrl, bunkerPubkey) === status) {
      return { ms: performance.now() - from, probes };
    }
  }
  return undefined;
}

/**
 * Probe results in named series, printed as table rows: count, p50, p99, max, how many were
 * already there at the first probe, and timeouts (a missing result).
 */
export class ProbeSeries {
  readonly #names: string[];
  readonly #values: number[][];
  readonly #first: number[];
  readonly #timeouts: number[];

  /** `probed` false: plain durations, no probe count column. */
  constructor(names: string[], readonly probed = true) {
    this.#names = names;
    this.#values = names.map(() => []);
    this.#first = names.map(() => 0);
    this.#timeouts = names.map(() => 0);
  }

  /** Adds one result to series `series` (an index into the names); undefined: a timeout. */
  add(series: number, result: ProbeResult | undefined): void {
    if (result === undefined) {
      this.#timeouts[series]!++;
      return;
    }
    this.#values[series]!.push(result.ms);
    if (result.probes === 1) this.#first[series]!++;
  }

  /** One row per series: name, count, p50, p99, max (ms), at first probe, timeouts. */
  rows(): string[][] {
    return this.#names.map((name, index) => {
      const stats = percentiles(this.#values[index]!);
      return [
        name,
        String(stats.count),
        fixed(stats.p50, 2),
        fixed(stats.p99, 2),
        fixed(stats.max, 2),
        this.probed ? String(this.#first[index]) : "-",
        String(this.#timeouts[index]),
      ];
    });
  }
}
