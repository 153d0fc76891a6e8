/**
 * Login storm benchmark: does a run of wrong-password logins slow down a client that is signing?
 * The test relay (signature checks off, as in bench/load.ts) and `keycast serve` (with
 * `--registration open` and `--trust-proxy 127.0.0.1`, so each attempt can name its own address in
 * `X-Forwarded-For`) run as child processes on 127.0.0.1. One `BunkerSigner` client signs kind 1
 * events back to back (one request in flight) while another loop posts wrong passwords to
 * `/api/auth/login`.
 *
 *   deno run -A bench/login_storm.ts [--seconds 10] [--attempts 200] [--concurrency 1]
 *                                    [--database sqlite|postgres] [--workers N] [--max-seconds 120]
 *
 * Phases, after a warm-up (signing, and one wrong login so that the decoy hash exists):
 * - baseline: signing alone for `--seconds`;
 * - storm, one account: `--attempts` wrong passwords for one registered account from one address,
 *   `--concurrency` at a time; after a few free failures the throttle refuses the rest with 429
 *   before any hashing;
 * - storm, worst case: each attempt names a fresh unknown username from a fresh address, so the
 *   throttle never engages and every attempt runs a full scrypt verification (the decoy hash);
 * - baseline again, to show drift over the run.
 * During a storm the client signs from the first attempt until the last one is answered, so its
 * latencies are those seen while logins ran. A storm starts no attempt after `--max-seconds`; a
 * login times out after 30 s, a `sign_event` after 10 s. Figures are printed, never asserted.
 */
import { parseBenchArgs } from "./lib/args.ts";
import { BenchClients, type PhaseResult } from "./lib/clients.ts";
import { type CpuUsage, snapshot, usage } from "./lib/cpu_sample.ts";
import { fixed, percentile, print, printTable } from "./lib/report.ts";
import { startBenchKeycast } from "./lib/keycast.ts";

const options = parseBenchArgs(Deno.args, {
  seconds: 10,
  attempts: 200,
  concurrency: 1,
  database: "sqlite",
  workers: navigator.hardwareConcurrency,
  "max-seconds": 120,
});
if (options.database !== "sqlite" && options.database !== "postgres") {
  throw new Error(`Cannot use --database "${options.database}": expected sqlite or postgres`);
}
/** The target: a signing client's p99 during a storm, in ms. */
const TARGET_P99_MS = 50;
/** Longest one login request may take before it counts as an error, in ms. */
const LOGIN_TIMEOUT_MS = 30_000;
/** Most `sign_event` requests one phase sends (the bound on count beside the one on time). */
const MAX_SIGNS = 100_000;
/** The address every attempt of the one-account storm comes from (TEST-NET-2). */
const ONE_ADDRESS = "198.51.100.7";

/** Who one login attempt claims to be and where it claims to come from. */
type Attempt = (index: number) => { username: string; address: string };

/** What a storm of logins measured. */
interface StormResult {
  /** Attempts made (fewer than asked when `--max-seconds` ran out). */
  attempts: number;
  /** Latency of each answered attempt, in ms. */
  latenciesMs: number[];
  /** Attempts by HTTP status, or by error name when there was no answer. */
  statuses: Map<string, number>;
}

/** One phase's figures. */
interface Phase {
  name: string;
  /** Wall time of the phase, in ms. */
  wallMs: number;
  signing: PhaseResult;
  storm?: StormResult;
  cpu: CpuUsage;
}

print(
  `keycast login storm benchmark: ${options.attempts} wrong logins, concurrency ` +
    `${options.concurrency}, ${options.database}, ${options.workers} signer workers, ` +
    `${navigator.hardwareConcurrency} cores, baseline ${options.seconds} s`,
);
const phases: Phase[] = [];
{
  await using keycast = await startBenchKeycast({
    database: options.database,
    workers: options.workers,
    dataDirPrefix: "keycast-bench-login-storm-",
    args: ["--registration", "open", "--trust-proxy", "127.0.0.1"],
    authorization: { policy: "full", max_uses: 1, label: "login storm benchmark" },
  });
  const { serve, pids } = keycast;
  const authorization = keycast.authorization as { bunker_url: string };
  const username = "storm-bench";
  await register(serve.url, username, `right-${crypto.randomUUID()}`);
  await using clients = await BenchClients.connect(authorization.bunker_url, 1, 30_000);

  // Warm-up, not reported: JIT, worker caches, relay subscription, the login route and the decoy
  // hash that unknown usernames are verified against (made on first use).
  await clients.closedLoop(50, 15_000);
  await tryLogin(serve.url, "warm-up-nobody", "192.0.2.1");

  const phase = async (name: string, attempt?: Attempt) => {
    const before = snapshot(pids);
    const started = performance.now();
    let signing: PhaseResult;
    let storm: StormResult | undefined;
    if (attempt) {
      const stop = new AbortController();
      const signed = clients.closedLoop(MAX_SIGNS, options["max-seconds"] * 1000, stop.signal);
      try {
        storm = await loginStorm(serve.url, attempt);
      } finally {
        stop.abort();
      }
      signing = await signed;
    } else {
      signing = await clients.closedLoop(MAX_SIGNS, options.seconds * 1000);
    }
    const wallMs = performance.now() - started;
    phases.push({ name, wallMs, signing, storm, cpu: usage(pids, before, snapshot(pids)) });
  };
  await phase("baseline");
  await phase("storm: one account", () => ({ username, address: ONE_ADDRESS }));
  await phase("storm: worst case", (index) => ({
    username: `nobody-${index}`,
    address: `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${(index & 255) + 1}`,
  }));
  await phase("baseline (after)");
}

print();
printTable([
  [
    "phase",
    "s",
    "signs",
    "errors",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "max ms",
    "logins",
    "statuses",
    "login p50 ms",
    "login p99 ms",
    "keycast CPU %",
    "others CPU %",
  ],
  ...phases.map(phaseRow),
]);
print();
for (const { name, signing, cpu } of phases) {
  const threads = [...cpu.keycastThreads]
    .filter(([, ms]) => ms > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([group, ms]) => `${group} ${fixed(ms, 0)}`);
  print(`${name}: keycast CPU ms by thread: ${threads.join(", ") || "n/a"}`);
  for (const message of signing.errorSamples) print(`${name}: sign_event error "${message}"`);
}
const baselineP99 = percentile(phases[0]!.signing.latenciesMs, 0.99);
for (const { name, signing, storm } of phases) {
  if (!storm) continue;
  const p99 = percentile(signing.latenciesMs, 0.99);
  const short = storm.attempts < options.attempts
    ? ` (only ${storm.attempts} of ${options.attempts} attempts within --max-seconds)`
    : "";
  print(
    `${name}: p99 during storm ${fixed(p99)} ms vs baseline ${fixed(baselineP99)} ms; ` +
      `target ≤ ${TARGET_P99_MS} ms: ${p99 <= TARGET_P99_MS ? "met" : "missed"}${short}`,
  );
}
print(
  "Signing latency is client-observed (client signing and verification, both relay hops, " +
    "keycast). CPU % is CPU time over the phase's wall time (100 = one core); a storm phase " +
    "lasts as long as its logins.",
);

/** Runs `--attempts` logins with wrong passwords, `--concurrency` at a time. */
async function loginStorm(url: string, attempt: Attempt): Promise<StormResult> {
  const result: StormResult = { attempts: 0, latenciesMs: [], statuses: new Map() };
  const maxMs = options["max-seconds"] * 1000;
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: options.concurrency }, async () => {
    while (next < options.attempts && performance.now() - started < maxMs) {
      const { username, address } = attempt(next++);
      const sent = performance.now();
      const status = await tryLogin(url, username, address);
      if (/^\d+$/.test(status)) result.latenciesMs.push(performance.now() - sent);
      result.statuses.set(status, (result.statuses.get(status) ?? 0) + 1);
      result.attempts++;
    }
  }));
  return result;
}

/** Posts one login with a random wrong password from `address`; its status or error name. */
async function tryLogin(url: string, username: string, address: string): Promise<string> {
  try {
    const response = await fetch(`${url}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": address },
      body: JSON.stringify({ username, password: `wrong-${crypto.randomUUID()}` }),
      signal: AbortSignal.timeout(LOGIN_TIMEOUT_MS),
    });
    await response.body?.cancel();
    return String(response.status);
  } catch (error) {
    return error instanceof Error ? error.name : "error";
  }
}

/** Registers `username` (open registration, from 127.0.0.1); throws unless it answers 201. */
async function register(url: string, username: string, password: string): Promise<void> {
  const response = await fetch(`${url}/api/auth/register`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ username, password }),
    signal: AbortSignal.timeout(LOGIN_TIMEOUT_MS),
  });
  const text = await response.text();
  if (response.status !== 201) {
    throw new Error(
      `Cannot register "${username}": status ${response.status}, ${text.slice(0, 300)}`,
    );
  }
}

function phaseRow({ name, wallMs, signing, storm, cpu }: Phase): string[] {
  const latency = (p: number) => fixed(percentile(signing.latenciesMs, p));
  const percent = (ms: number | undefined) =>
    fixed(ms === undefined ? undefined : (100 * ms) / wallMs, 0);
  const statuses = storm
    ? [...storm.statuses].sort(([a], [b]) => a.localeCompare(b)).map(([s, n]) => `${s}×${n}`)
    : [];
  return [
    name,
    fixed(wallMs / 1000),
    String(signing.ok),
    String(signing.errors),
    latency(0.5),
    latency(0.9),
    latency(0.99),
    latency(1),
    storm ? String(storm.attempts) : "",
    statuses.join(" "),
    storm ? fixed(percentile(storm.latenciesMs, 0.5)) : "",
    storm ? fixed(percentile(storm.latenciesMs, 0.99)) : "",
    percent(cpu.keycast),
    percent(cpu.others),
  ];
}
