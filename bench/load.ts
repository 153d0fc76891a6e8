/**
 * End-to-end load benchmark: the test relay (signature checks off, so the relay's own ~1.2 ms per
 * event is not mixed in) and `keycast serve` as child processes on 127.0.0.1, one authorization,
 * N `BunkerSigner` clients with their own keys.
 *
 *   deno run -A bench/load.ts [--clients 16] [--requests 60] [--database sqlite|postgres]
 *                             [--workers N] [--max-seconds 45] [--cpu-prof-dir DIR]
 *                             [--connect sequential|concurrent] [--own-relay off|on]
 *
 * Phases: connect + warm-up; closed loop (each client sends `--requests` sequential `sign_event`s)
 * → peak throughput; open loop at half that rate → latency under moderate load. Then the same
 * crypto on this thread alone (the single-thread limit), run before the servers start and again
 * after they stop, so a change in the machine's load shows. Each phase stops sending after
 * `--max-seconds`; every call times out after 10 s. Figures are printed, never asserted.
 *
 * keycast's CPU per request (process CPU delta ÷ requests, all threads) is the figure that
 * compares across runs: on a small machine the clients and the relay compete with keycast for
 * the same cores, which caps the throughput figures. The "others" column is the CPU the rest of
 * the machine used meanwhile: when it is not near zero, the run was disturbed.
 *
 * `--own-relay on` serves with `--public-url` and no `--relay`: the clients talk to keycast's own
 * relay endpoint on its port instead of the test relay (compare `--clients 1` both ways for the
 * loopback latency of one client's sequential `sign_event`s).
 *
 * Clients connect one after the other by default; `--connect concurrent` connects them all at
 * once (a check that concurrent connects to one authorization all stay bound).
 */
import { delay } from "../src/util/async.ts";
import { emptyPostgresDatabase } from "../tests/helpers/db.ts";
import { freePort } from "../tests/helpers/keycast.ts";
import { startTestRelay } from "../tests/helpers/relay.ts";
import { parseBenchArgs } from "./lib/args.ts";
import { BenchClients, type PhaseResult } from "./lib/clients.ts";
import { type CpuUsage, type Pids, snapshot, usage } from "./lib/cpu_sample.ts";
import { childPids, cpuMs, memory } from "./lib/proc.ts";
import { fixed, percentiles, print, printTable } from "./lib/report.ts";
import { startBenchServe } from "./lib/serve.ts";
import { runSingleThread, type SingleThreadResult } from "./lib/single_thread.ts";

const options = parseBenchArgs(Deno.args, {
  clients: 16,
  requests: 60,
  database: "sqlite",
  workers: navigator.hardwareConcurrency,
  "max-seconds": 45,
  "cpu-prof-dir": "",
  connect: "sequential",
  "own-relay": "off",
});
if (options["own-relay"] !== "off" && options["own-relay"] !== "on") {
  throw new Error(`Cannot use --own-relay "${options["own-relay"]}": expected off or on`);
}
const ownRelay = options["own-relay"] === "on";
if (options.connect !== "sequential" && options.connect !== "concurrent") {
  throw new Error(`Cannot use --connect "${options.connect}": expected sequential or concurrent`);
}
if (options.database !== "sqlite" && options.database !== "postgres") {
  throw new Error(`Cannot use --database "${options.database}": expected sqlite or postgres`);
}
const maxMs = options["max-seconds"] * 1000;
const IDLE_SAMPLE_MS = 3_000;

print(
  `keycast load benchmark: ${options.clients} clients × ${options.requests} sign_event, ` +
    `${options.database}, ${options.workers} signer workers, ${navigator.hardwareConcurrency} cores`,
);
const rows: string[][] = [[
  "phase",
  "ok",
  "errors",
  "req/s",
  "p50 ms",
  "p95 ms",
  "p99 ms",
  "max ms",
  "keycast CPU ms/req",
  "relay ms/req",
  "clients ms/req",
  "others ms/req",
]];
const notes: string[] = [];
const singleOptions = { clients: options.clients, maxRequests: 3_000, maxMs: 8_000 };
const singleBefore = runSingleThread({ ...singleOptions, pairCache: true });
let peakRow: { rate: number; cpu?: number } = { rate: NaN };
let pacedP99 = NaN;
{
  await using database = options.database === "postgres"
    ? await emptyPostgresDatabase()
    : undefined;
  await using relay = await startTestRelay({ skipVerify: true });
  const dataDir = await Deno.makeTempDir({ prefix: "keycast-bench-load-" });
  await using _dataDir = { [Symbol.asyncDispose]: () => Deno.remove(dataDir, { recursive: true }) };
  const env: Record<string, string> = { RPC_WORKER_COUNT: String(options.workers) };
  if (database) env.DATABASE_URL = database.url;
  const profileDir = options["cpu-prof-dir"];
  const denoFlags = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  const ownPort = ownRelay ? freePort() : 0;
  await using serve = await startBenchServe({
    relays: ownRelay ? [] : [relay.url],
    args: ownRelay ? ["--port", `${ownPort}`, "--public-url", `http://127.0.0.1:${ownPort}`] : [],
    dataDir,
    env,
    denoFlags,
  });
  await serve.waitReady(30_000);
  const atReady = memory(serve.pid);
  await serve.api("POST", "/api/keys", { name: "bench" }, [201]);
  const authorization = await serve.api("POST", "/api/authorizations", {
    key: "bench",
    policy: "full",
    max_uses: options.clients,
    label: "load benchmark",
  }, [201]) as { bunker_url: string };

  await using clients = await BenchClients.connect(
    authorization.bunker_url,
    options.clients,
    30_000,
    { concurrent: options.connect === "concurrent" },
  );
  let lastCpu: number | undefined;
  const pids: Pids = { keycast: serve.pid, relay: childPids(Deno.pid, "relay.ts")[0] };
  const measure = async (name: string, run: () => Promise<PhaseResult>) => {
    const before = snapshot(pids);
    const result = await run();
    const used = usage(pids, before, snapshot(pids));
    rows.push(phaseRow(name, result, used));
    lastCpu = used.keycast === undefined ? undefined : used.keycast / Math.max(1, result.ok);
    notes.push(threadNote(name, result, used));
    for (const message of result.errorSamples) notes.push(`${name}: error "${message}"`);
    return result;
  };

  // Warm-up: JIT, worker key and pair caches, relay subscriptions; not reported.
  await clients.closedLoop(3, 15_000);
  const idleBefore = cpuMs(serve.pid);
  await delay(IDLE_SAMPLE_MS);
  const idleAfter = cpuMs(serve.pid);
  const idle = idleBefore === undefined || idleAfter === undefined
    ? undefined
    : (100 * (idleAfter - idleBefore)) / IDLE_SAMPLE_MS;
  notes.push(`keycast idle CPU (clients connected, no requests): ${fixed(idle)} % of one core`);

  const peak = await measure(
    "closed loop (peak)",
    () => clients.closedLoop(options.requests, maxMs),
  );
  const peakRate = peak.ok / (peak.wallMs / 1000);
  peakRow = { rate: peakRate, cpu: lastCpu };
  const paced = await measure(
    `paced at ${fixed(peakRate / 2, 0)} req/s (half peak)`,
    () => clients.paced(peakRate / 2, options.requests, maxMs),
  );
  pacedP99 = percentiles(paced.latenciesMs).p99;
  const mem = memory(serve.pid);
  notes.push(
    `keycast memory: RSS ${fixed(atReady?.rssMiB)} MiB once ready, ${
      fixed(mem?.rssMiB)
    } MiB after the run, peak (VmHWM) ${fixed(mem?.peakMiB)} MiB`,
  );
}
const singleAfter = runSingleThread({ ...singleOptions, pairCache: true });
rows.push(singleRow("main thread only, pair cache on (before)", singleBefore));
rows.push(singleRow("main thread only, pair cache on (after)", singleAfter));
rows.push(singleRow(
  "main thread only, pair cache off",
  runSingleThread({ ...singleOptions, pairCache: false }),
));
print();
printTable(rows);
print();
for (const note of notes) print(note);
const singleRate = Math.max(rate(singleBefore), rate(singleAfter));
const singleCpu = Math.min(cpuPerRequest(singleBefore) ?? NaN, cpuPerRequest(singleAfter) ?? NaN);
const cores = navigator.hardwareConcurrency;
print(
  `Worker pool vs main thread only: measured peak ${fixed(peakRow.rate)} req/s = ${
    fixed(peakRow.rate / singleRate, 2)
  }× the single-thread rate (clients and relay share the cores); keycast CPU per request = ${
    fixed((peakRow.cpu ?? NaN) / singleCpu, 2)
  }× the crypto alone, so keycast with all ${cores} cores to itself would top out near ${
    fixed((cores * 1000) / (peakRow.cpu ?? NaN), 0)
  } req/s, against ${fixed(singleRate, 0)} req/s for the crypto on one thread.`,
);
print(
  `Targets: keycast CPU per sign_event ≤ 2 ms: ${fixed(peakRow.cpu, 2)} ms (${
    verdict((peakRow.cpu ?? NaN) <= 2)
  }); p99 ≤ 50 ms at half peak: ${fixed(pacedP99)} ms (${verdict(pacedP99 <= 50)}).`,
);
print(
  "Latency is client-observed (it includes the client's own signing and verification); in the " +
    "paced phase it counts from each request's scheduled send time. CPU per request is CPU time " +
    "(all threads) ÷ successful requests.",
);

function phaseRow(name: string, result: PhaseResult, used: CpuUsage): string[] {
  const latency = percentiles(result.latenciesMs);
  const perRequest = (ms: number | undefined) =>
    fixed(ms === undefined || result.ok === 0 ? undefined : ms / result.ok, 2);
  return [
    name,
    String(result.ok),
    String(result.errors),
    fixed(result.ok / (result.wallMs / 1000)),
    fixed(latency.p50),
    fixed(latency.p95),
    fixed(latency.p99),
    fixed(latency.max),
    perRequest(used.keycast),
    perRequest(used.relay),
    perRequest(used.clients),
    perRequest(used.others),
  ];
}

function threadNote(name: string, result: PhaseResult, used: CpuUsage): string {
  const parts = [...used.keycastThreads]
    .filter(([, ms]) => ms > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([group, ms]) => `${group} ${fixed(ms / Math.max(1, result.ok), 2)}`);
  return `${name}: keycast CPU ms/req by thread: ${parts.join(", ")}`;
}

function rate(result: SingleThreadResult): number {
  return result.requests / (result.wallMs / 1000);
}

function cpuPerRequest(result: SingleThreadResult): number | undefined {
  return result.cpuMs === undefined ? undefined : result.cpuMs / result.requests;
}

function verdict(met: boolean): string {
  return met ? "met" : "missed";
}

function singleRow(name: string, result: SingleThreadResult): string[] {
  const cpu = cpuPerRequest(result);
  return [
    name,
    String(result.requests),
    "0",
    fixed(rate(result)),
    ...Array(4).fill(""),
    fixed(cpu, 2),
    ...Array(3).fill(""),
  ];
}
