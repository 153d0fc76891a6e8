/**
 * HTTP signing against NIP-46: keycast's CPU per `sign_event` over `POST /api/nostr` and over
 * NIP-46, on one server and one authorization, each as N sequential requests from one client.
 *
 *   deno run -A bench/http_sign.ts [--requests 500] [--database sqlite|postgres] [--workers N]
 *                                  [--max-seconds 60]
 *
 * keycast runs as a child process (`bench/lib/http_serve.ts`: the real server plus a stand-in
 * for the OAuth service that resolves bench tokens), the test relay with its signature checks off.
 * Both transports get a warm-up first (JIT, key caches, the relay subscription). The figure that
 * compares is keycast's CPU per request (process CPU delta ÷ requests, all threads, from `/proc`);
 * latency is client-observed and includes the client's own work (over NIP-46: encrypting,
 * signing and verifying the envelope; over HTTP: verifying the event). Figures are printed, never
 * asserted.
 */
import { verifyEvent } from "nostr-tools/pure";
import { deadline } from "../src/util/async.ts";
import { parseBenchArgs } from "./lib/args.ts";
import { BenchClients, CALL_TIMEOUT_MS, type PhaseResult } from "./lib/clients.ts";
import { snapshot, usage } from "./lib/cpu_sample.ts";
import { benchToken } from "./lib/http_serve.ts";
import { fixed, percentiles, print, printTable } from "./lib/report.ts";
import { startBenchKeycast } from "./lib/keycast.ts";
import { benchTemplate } from "./lib/single_thread.ts";

const options = parseBenchArgs(Deno.args, {
  requests: 500,
  database: "sqlite",
  workers: navigator.hardwareConcurrency,
  "max-seconds": 60,
});
if (options.database !== "sqlite" && options.database !== "postgres") {
  throw new Error(`Cannot use --database "${options.database}": expected sqlite or postgres`);
}
const maxMs = options["max-seconds"] * 1000;
const SCRIPT = new URL("./lib/http_serve.ts", import.meta.url).pathname;

print(
  `keycast HTTP signing vs NIP-46: ${options.requests} sequential sign_event each, ` +
    `${options.database}, ${options.workers} signer workers, ${navigator.hardwareConcurrency} cores`,
);
const rows: string[][] = [[
  "transport",
  "ok",
  "errors",
  "req/s",
  "p50 ms",
  "p99 ms",
  "keycast CPU ms/req",
  "main thread ms/req",
  "workers ms/req (signer + SQLite)",
  "relay ms/req",
]];
const perRequest: Record<string, number> = {};
{
  await using keycast = await startBenchKeycast({
    database: options.database,
    workers: options.workers,
    dataDirPrefix: "keycast-bench-http-",
    script: SCRIPT,
    authorization: { policy: "full", label: "HTTP signing benchmark" },
  });
  const { serve, pids } = keycast;
  const authorization = keycast.authorization as {
    id: string;
    bunker_pubkey: string;
    bunker_url: string;
    user_pubkey: string;
  };
  const token = benchToken(authorization.id, authorization.bunker_pubkey);
  await using clients = await BenchClients.connect(authorization.bunker_url, 1, 30_000);

  const overHttp = (count: number) =>
    httpLoop(serve.url, token, authorization.user_pubkey, count, maxMs);
  const overNip46 = (count: number) => clients.closedLoop(count, maxMs);
  // Warm-up of both paths: not reported.
  await overHttp(20);
  await overNip46(20);
  for (const [name, run] of [["HTTP /api/nostr", overHttp], ["NIP-46", overNip46]] as const) {
    const before = snapshot(pids);
    const result = await run(options.requests);
    const used = usage(pids, before, snapshot(pids));
    const latency = percentiles(result.latenciesMs);
    const per = (ms: number | undefined) =>
      ms === undefined || result.ok === 0 ? undefined : ms / result.ok;
    const threads = (prefix: string) =>
      [...used.keycastThreads].filter(([group]) => group.startsWith(prefix))
        .reduce((sum, [, ms]) => sum + ms, 0);
    perRequest[name] = per(used.keycast) ?? NaN;
    rows.push([
      name,
      String(result.ok),
      String(result.errors),
      fixed(result.ok / (result.wallMs / 1000)),
      fixed(latency.p50, 2),
      fixed(latency.p99, 2),
      fixed(per(used.keycast), 3),
      fixed(per(threads("main")), 3),
      fixed(per(threads("signer")), 3),
      fixed(per(used.relay), 3),
    ]);
    for (const message of result.errorSamples) print(`${name}: error "${message}"`);
  }
}
print();
printTable(rows);
print();
const http = perRequest["HTTP /api/nostr"] ?? NaN;
const nip46 = perRequest["NIP-46"] ?? NaN;
print(
  `keycast CPU per sign_event: ${fixed(http, 3)} ms over HTTP, ${fixed(nip46, 3)} ms over ` +
    `NIP-46 (HTTP uses ${fixed((100 * http) / nip46, 0)} % of NIP-46's CPU). CPU from /proc is ` +
    "counted in 10 ms ticks: use several hundred requests.",
);

/** `count` sequential `sign_event`s over `POST /api/nostr`, each checked with nostr-tools. */
async function httpLoop(
  baseUrl: string,
  token: string,
  userPubkey: string,
  count: number,
  maxMs: number,
): Promise<PhaseResult> {
  const result: PhaseResult = { ok: 0, errors: 0, latenciesMs: [], wallMs: 0, errorSamples: [] };
  const started = performance.now();
  for (let k = 0; k < count && performance.now() - started < maxMs; k++) {
    const from = performance.now();
    try {
      const response = await deadline(
        fetch(`${baseUrl}/api/nostr`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: JSON.stringify({
            method: "sign_event",
            params: [benchTemplate(Math.floor(Date.now() / 1000))],
          }),
        }),
        CALL_TIMEOUT_MS,
      );
      const body = await response.json() as { result?: string; error?: string };
      if (response.status !== 200 || body.result === undefined) {
        throw new Error(`status ${response.status}: ${body.error}`);
      }
      const event = JSON.parse(body.result);
      if (!verifyEvent(event) || event.pubkey !== userPubkey) {
        throw new Error("the signed event does not verify");
      }
      result.latenciesMs.push(performance.now() - from);
      result.ok++;
    } catch (error) {
      result.errors++;
      const message = error instanceof Error ? error.message : String(error);
      if (result.errorSamples.length < 5 && !result.errorSamples.includes(message)) {
        result.errorSamples.push(message.slice(0, 200));
      }
    }
  }
  result.wallMs = performance.now() - started;
  return result;
}
