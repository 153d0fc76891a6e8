/**
 * Startup and idle memory of `keycast serve` on the embedded database (or PostgreSQL).
 *
 *   deno run -A bench/startup.ts [--runs 3] [--workers 2] [--idle-seconds 60]
 *                                [--database sqlite|postgres]
 *
 * Each run starts serve on a fresh data dir (the first start: master key, database file and
 * migrations are created), then starts it again on the same data dir (an ordinary restart). For
 * each start it prints the time from spawn to `/health/ready` answering 200 and the RSS at that
 * moment, then again after `--idle-seconds` of idling (V8 gives memory back once a process is
 * idle for a while, so both are shown). No relay runs: serve is given a dead loopback relay and
 * holds no authorization, which is what an idle fresh install looks like.
 */
import { emptyPostgresDatabase } from "../tests/helpers/db.ts";
import { delay } from "../src/util/async.ts";
import { parseBenchArgs } from "./lib/args.ts";
import { memory } from "./lib/proc.ts";
import { fixed, print, printTable } from "./lib/report.ts";
import { startBenchServe } from "./lib/serve.ts";

const options = parseBenchArgs(Deno.args, {
  runs: 3,
  workers: 2,
  "idle-seconds": 60,
  database: "sqlite",
});
if (options.database !== "sqlite" && options.database !== "postgres") {
  throw new Error(`Cannot use --database "${options.database}": expected sqlite or postgres`);
}
print(
  `keycast startup benchmark: ${options.database}, ${options.workers} signer workers, ` +
    `${options.runs} runs, RSS again after ${options["idle-seconds"]} s idle`,
);

const rows: string[][] = [[
  "start",
  "spawn → ready",
  "RSS at ready",
  `RSS after ${options["idle-seconds"]} s`,
  "peak RSS",
]];
for (let run = 1; run <= options.runs; run++) {
  const dataDir = await Deno.makeTempDir({ prefix: "keycast-bench-startup-" });
  await using database = options.database === "postgres"
    ? await emptyPostgresDatabase()
    : undefined;
  try {
    for (const start of ["first", "restart"]) {
      const spawned = performance.now();
      await using serve = await startBenchServe({
        relays: ["ws://127.0.0.1:9"],
        dataDir,
        env: {
          RPC_WORKER_COUNT: String(options.workers),
          ...(database ? { DATABASE_URL: database.url } : {}),
        },
      });
      await serve.waitReady(30_000);
      const readyMs = performance.now() - spawned;
      const atReady = memory(serve.pid);
      await delay(options["idle-seconds"] * 1000);
      const idle = memory(serve.pid);
      rows.push([
        `${run}: ${start}`,
        `${fixed(readyMs, 0)} ms`,
        `${fixed(atReady?.rssMiB)} MiB`,
        `${fixed(idle?.rssMiB)} MiB`,
        `${fixed(idle?.peakMiB)} MiB`,
      ]);
      await serve.stop();
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}
print();
printTable(rows);
print();
print(
  "spawn → ready includes Deno loading keycast's modules from source (`deno run`); the compiled " +
    "binary skips the module graph resolution.",
);
