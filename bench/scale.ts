/**
 * Scale benchmark: many live authorizations in the database, then `keycast serve` started on it
 * with a test relay on 127.0.0.1.
 *
 *   deno run -A bench/scale.ts [--database postgres|sqlite] [--authorizations 100000]
 *                              [--upserts 5] [--max-seconds 120]
 *
 * PostgreSQL: `KEYCAST_TEST_DATABASE_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`);
 * a throwaway database is created and dropped. SQLite: the embedded database in a temp data dir.
 * The rows are inserted with one statement; their
 * bunker keys are placeholders (sealed text that is never opened), which is enough to load and
 * subscribe them. Prints: time from spawn to "Listening" and to `/health/ready` 200, RSS once
 * ready, then for each upsert the time from `POST /api/authorizations` to its answer and to a
 * completed `BunkerSigner.connect` (upsert → usable), once by a client whose relay socket is
 * already open and once by a new one. Bounded: `--max-seconds` to get ready, 30 s per API call,
 * 10 s per connect.
 *
 *   deno run -A bench/scale.ts --cluster [--instances 3] [--authorizations 200] [--lease 10s] …
 *
 * runs the cluster mode instead (`bench/scale_cluster.ts`): several `serve --cluster` instances
 * on one PostgreSQL database; how fast a revoke reaches the others, and how long their bunkers go
 * unanswered when one is killed (SIGKILL) or stopped (SIGTERM). Both modes print the command line
 * and a note on the machine first.
 */
import { sql } from "kysely";
import { delay } from "../src/util/async.ts";
import type { Db } from "../src/db/db.ts";
import { migrate } from "../src/db/migrate.ts";
import { SQLITE_FILE } from "../src/db/open.ts";
import { openPostgres } from "../src/db/postgres.ts";
import { createRepos } from "../src/db/repos/repos.ts";
import { openSqlite } from "../src/db/sqlite.ts";
import { keyCheckValue } from "../src/vault/key_check.ts";
import { emptyPostgresDatabase } from "../tests/helpers/db.ts";
import { startTestRelay } from "../tests/helpers/relay.ts";
import { parseBenchArgs } from "./lib/args.ts";
import { BenchClients } from "./lib/clients.ts";
import { cpuMs, memory } from "./lib/proc.ts";
import { fixed, percentiles, print, printTable } from "./lib/report.ts";
import { commandLine, machineNote } from "./lib/machine.ts";
import { startBenchServe } from "./lib/serve.ts";
import { clusterScale } from "./scale_cluster.ts";

print(commandLine(import.meta.url, Deno.args));
print(`machine: ${machineNote()}`);
if (Deno.args.includes("--cluster")) {
  await clusterScale(Deno.args.filter((arg) => arg !== "--cluster"));
} else {
  await singleScale(Deno.args);
}

/** One `keycast serve` over many authorizations (see the module doc). */
async function singleScale(args: readonly string[]): Promise<void> {
  const options = parseBenchArgs(args, {
    database: "postgres",
    authorizations: 100_000,
    upserts: 5,
    "max-seconds": 120,
  });
  const maxMs = options["max-seconds"] * 1000;
  if (options.database !== "postgres" && options.database !== "sqlite") {
    throw new Error(`Cannot use --database "${options.database}": expected postgres or sqlite`);
  }

  print(
    `keycast scale benchmark: ${options.authorizations} authorizations on ${options.database}`,
  );
  const dataDir = await Deno.makeTempDir({ prefix: "keycast-bench-scale-" });
  await using _dataDir = { [Symbol.asyncDispose]: () => Deno.remove(dataDir, { recursive: true }) };
  await using database = options.database === "postgres"
    ? await emptyPostgresDatabase()
    : undefined;
  const db = database
    ? openPostgres(database.url, { max: 1 })
    : await openSqlite({ path: `${dataDir}/${SQLITE_FILE}` });
  // The rows' sealed secrets are placeholders that never open: the master key check is recorded
  // directly, for the key serve is given, so serve does not try to open one at start.
  const masterKey = crypto.getRandomValues(new Uint8Array(32));
  const insertMs = await seed(db, options.authorizations, masterKey).finally(() => db.close());
  print(`seeded ${options.authorizations} authorizations in ${fixed(insertMs / 1000, 1)} s`);

  await using relay = await startTestRelay();
  const spawned = performance.now();
  await using serve = await startBenchServe({
    relays: [relay.url],
    dataDir,
    env: {
      KEYCAST_MASTER_KEY: btoa(String.fromCharCode(...masterKey)),
      ...(database ? { DATABASE_URL: database.url } : {}),
    },
    timeoutMs: maxMs,
  });
  const listeningMs = performance.now() - spawned;
  await serve.waitReady(Math.max(1, maxMs - listeningMs));
  const readyMs = performance.now() - spawned;
  const startCpu = cpuMs(serve.pid);
  const loaded = memory(serve.pid);
  const health = await serve.api("GET", "/health", undefined, [200]) as {
    signer?: { loaded_authorizations?: number };
  };

  await serve.api("POST", "/api/keys", { name: "scale" }, [201]);
  const apiMs: number[] = [];
  const warmMs: number[] = [];
  const freshMs: number[] = [];
  /** POST an authorization, then connect a client to it; returns [ms to 201, ms to connected]. */
  async function upsertAndConnect(label: string, warm: boolean): Promise<[number, number]> {
    const pools = warm ? [await BenchClients.openPool(relay.url, 10_000)] : [];
    const started = performance.now();
    const created = await serve.api("POST", "/api/authorizations", {
      key: "scale",
      policy: "full",
      label,
    }, [201]) as { bunker_url: string };
    const answered = performance.now() - started;
    await using _client = await BenchClients.connect(created.bunker_url, 1, 10_000, { pools });
    return [answered, performance.now() - started];
  }
  // The first upsert after start runs cold code paths (JIT, first key opened in a worker):
  // shown apart.
  const [firstApiMs, firstUsableMs] = await upsertAndConnect("scale upsert (first)", true);
  for (let i = 0; i < options.upserts; i++) {
    const [api, warm] = await upsertAndConnect(`scale upsert ${i} (open socket)`, true);
    apiMs.push(api);
    warmMs.push(warm);
    const [apiFresh, fresh] = await upsertAndConnect(`scale upsert ${i} (new socket)`, false);
    apiMs.push(apiFresh);
    freshMs.push(fresh);
  }
  const after = memory(serve.pid);
  // keycast's own share of each connect: relay event in → reply signed (the audit log's latency).
  await delay(1_000); // the audit writer flushes every 250 ms
  const audit = await serve.api("GET", "/api/audit?limit=100", undefined, [200]) as {
    entries: { method: string; latency_ms: number | null }[];
  };
  const connectLatencies = audit.entries
    .filter((entry) => entry.method === "connect" && entry.latency_ms !== null)
    .map((entry) => entry.latency_ms!);

  print();
  printTable([
    ["measure", "value"],
    ["authorizations loaded (/health)", String(health.signer?.loaded_authorizations ?? "n/a")],
    ["spawn → Listening", `${fixed(listeningMs / 1000, 2)} s`],
    ["spawn → /health/ready 200", `${fixed(readyMs / 1000, 2)} s`],
    ["keycast CPU until ready", `${fixed((startCpu ?? NaN) / 1000, 2)} s`],
    ["RSS once ready", `${fixed(loaded?.rssMiB)} MiB (peak ${fixed(loaded?.peakMiB)} MiB)`],
    ["RSS after the upserts", `${fixed(after?.rssMiB)} MiB (peak ${fixed(after?.peakMiB)} MiB)`],
    [
      "first upsert after start: → 201, → connected",
      `${fixed(firstApiMs)} ms, ${fixed(firstUsableMs)} ms`,
    ],
    ...summary("POST /api/authorizations → 201", apiMs),
    ...summary("POST → connect done, client socket open", warmMs),
    ...summary("POST → connect done, new client socket", freshMs),
    ...summary("keycast's part of a connect (audit latency)", connectLatencies),
  ]);
  print();
  print(
    "The 201 comes after the new bunker pubkey is subscribed on the relay. Connect adds " +
      "one NIP-46 round trip (the client's request and keycast's reply, each signed and " +
      "verified), " +
      "plus the client's relay socket in the last line.",
  );
}

function summary(name: string, samples: number[]): string[][] {
  const stats = percentiles(samples);
  return [[
    `${name} (${samples.length}×)`,
    `median ${fixed(stats.p50)} ms, max ${fixed(stats.max)} ms`,
  ]];
}

/** Migrates `db` and inserts one key and `count` live authorizations; returns the ms taken. */
async function seed(db: Db, count: number, masterKey: Uint8Array): Promise<number> {
  await migrate(db);
  await db.kysely.insertInto("vault_keys")
    .values({ key_id: 1, check_value: await keyCheckValue(masterKey, 1), created_at: new Date() })
    .execute();
  const started = performance.now();
  const key = await createRepos(db).keys.create({
    id: crypto.randomUUID(),
    name: "scale-placeholder",
    pubkey: "f".repeat(64),
    secretSealed: "v1.1.placeholder",
  });
  // Distinct 64-hex values per row satisfy the CHECK constraints; nobody holds these keys.
  const insert = db.kind === "postgres"
    ? sql`insert into authorizations (id, key_id, bunker_pubkey, bunker_secret_sealed,
            secret_hash, relays, label)
          select gen_random_uuid(), ${key.id}::uuid, lpad(to_hex(g), 64, '0'), 'v1.1.placeholder',
                 lpad(to_hex(g), 64, 'a'), '[]'::jsonb, 'scale ' || g
            from generate_series(1, ${count}::int) as g`
    : sql`with recursive g(n) as (select 1 union all select n + 1 from g where n < ${count})
          insert into authorizations (id, key_id, bunker_pubkey, bunker_secret_sealed,
            secret_hash, relays, label)
          select printf('%08x-0000-4000-8000-%012x', n, n), ${key.id}, printf('%064x', n),
                 'v1.1.placeholder', printf('a%063x', n), '[]', 'scale ' || n
            from g`;
  await db.transaction((tx) => insert.execute(tx));
  if (db.kind === "postgres") await sql`analyze authorizations`.execute(db.kysely);
  return performance.now() - started;
}
