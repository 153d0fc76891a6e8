/**
 * How long the queries on the request path take, and how long they hold up the main thread, on
 * each engine. SQLite runs in a worker (`src/db/sqlite.worker.ts`), so its synchronous calls and
 * its commits' fsyncs should not show up as main-thread stalls; this measures that they do not.
 *
 *   deno run -A bench/db_lag.ts [--seconds 3] [--database sqlite|postgres|both]
 *
 * For each query kind it issues the query back to back for `--seconds` while a 1 ms interval timer
 * runs; the timer's lateness is the time the main thread was not free. Prints per query kind the
 * latency (p50/p99) and the timer's lateness (p99, max). Bounded: each phase stops after
 * `--seconds` or 20,000 queries.
 */
import type { AuditEntry } from "../src/db/repos/audit.ts";
import type { Db } from "../src/db/db.ts";
import { createRepos } from "../src/db/repos/repos.ts";
import { postgresTestDb, sqliteTestDb } from "../tests/helpers/db.ts";
import { insertAuthorization, insertKey, randomHex64 } from "../tests/helpers/fixtures.ts";
import { parseBenchArgs } from "./lib/args.ts";
import { fixed, percentiles, print, printTable } from "./lib/report.ts";

const options = parseBenchArgs(Deno.args, { seconds: 3, database: "both" });
const engines = options.database === "both" ? ["sqlite", "postgres"] : [options.database];

const rows: string[][] = [[
  "engine",
  "query",
  "queries",
  "p50 ms",
  "p99 ms",
  "timer late p99 ms",
  "timer late max ms",
]];
for (const engine of engines) {
  await using db = engine === "sqlite" ? await sqliteTestDb() : await postgresTestDb();
  const repos = createRepos(db);
  const key = await insertKey(db, "lag");
  const authorization = await insertAuthorization(db, key.id, { maxUses: null });
  const clients = Array.from({ length: 50 }, () => randomHex64());
  for (const clientPubkey of clients) {
    await repos.clients.redeem({ authorizationId: authorization.id, clientPubkey });
  }
  const entry: AuditEntry = {
    at: new Date(),
    authorizationId: authorization.id,
    clientPubkey: clients[0]!,
    method: "sign_event",
    eventKind: 1,
    eventId: randomHex64(),
    decision: "allow",
    reason: null,
    latencyMs: 3.2,
  };
  const kinds: [string, () => Promise<unknown>][] = [
    ["nothing (the timer's own lateness)", () => new Promise((resolve) => setTimeout(resolve, 0))],
    ["authorization lookup (by id)", () => repos.authorizations.loadActiveById(authorization.id)],
    ["audit batch (100 rows)", () => repos.audit.insertMany(Array(100).fill(entry))],
    [
      "connect: redeem (known client)",
      () => repos.clients.redeem({ authorizationId: authorization.id, clientPubkey: clients[1]! }),
    ],
    [
      "connect: redeem (new client)",
      () =>
        repos.clients.redeem({ authorizationId: authorization.id, clientPubkey: randomHex64() }),
    ],
    ["client activity (50 clients)", () =>
      repos.clients.touch(clients.map((clientPubkey) => ({
        authorizationId: authorization.id,
        clientPubkey,
      })))],
  ];
  for (const [name, run] of kinds) rows.push([engine, name, ...await measure(db, run)]);
}
print();
printTable(rows);

async function measure(_db: Db, run: () => Promise<unknown>): Promise<string[]> {
  const late: number[] = [];
  let expected = performance.now() + 1;
  const timer = setInterval(() => {
    const now = performance.now();
    late.push(Math.max(0, now - expected));
    expected = now + 1;
  }, 1);
  const latencies: number[] = [];
  const until = performance.now() + options.seconds * 1000;
  try {
    while (performance.now() < until && latencies.length < 20_000) {
      const started = performance.now();
      await run();
      latencies.push(performance.now() - started);
    }
  } finally {
    clearInterval(timer);
  }
  const query = percentiles(latencies);
  const lag = percentiles(late);
  return [
    String(latencies.length),
    fixed(query.p50, 2),
    fixed(query.p99, 2),
    fixed(lag.p99, 2),
    fixed(lag.max, 2),
  ];
}
