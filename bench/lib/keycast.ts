/**
 * What the single-instance benchmarks start before they measure: a throwaway PostgreSQL database
 * (or the embedded one), the test relay with its signature checks off, `keycast serve` on a fresh
 * data dir, ready, and one key "bench" with an authorization for it.
 */
import { emptyPostgresDatabase } from "../../tests/helpers/db.ts";
import { startTestRelay } from "../../tests/helpers/relay.ts";
import type { Pids } from "./cpu_sample.ts";
import { childPids } from "./proc.ts";
import { type BenchServe, startBenchServe } from "./serve.ts";

/** Options of {@link startBenchKeycast}. */
export interface BenchKeycastOptions {
  database: "sqlite" | "postgres";
  /** `RPC_WORKER_COUNT`. */
  workers: number;
  /** The data dir's name prefix, e.g. `keycast-bench-http-`. */
  dataDirPrefix: string;
  /** The fields of the authorization (`key` is "bench"). */
  authorization: Record<string, unknown>;
  /** Extra `serve` flags. */
  args?: string[];
  /** The script run with `serve`. Default the repository's `main.ts`. */
  script?: string;
}

/** A running benchmark deployment; dispose stops and removes everything. */
export interface BenchKeycast extends AsyncDisposable {
  serve: BenchServe;
  /** The created authorization, as the API answered. */
  // deno-lint-ignore no-explicit-any -- a parsed JSON body
  authorization: any;
  /** The pids whose CPU the benchmarks sample. */
  pids: Pids;
}

/** Starts the deployment (see the module doc). */
export async function startBenchKeycast(options: BenchKeycastOptions): Promise<BenchKeycast> {
  await using stack = new AsyncDisposableStack();
  const database = options.database === "postgres"
    ? stack.use(await emptyPostgresDatabase())
    : undefined;
  const relay = stack.use(await startTestRelay({ skipVerify: true }));
  const dataDir = await Deno.makeTempDir({ prefix: options.dataDirPrefix });
  stack.defer(() => Deno.remove(dataDir, { recursive: true }));
  const env: Record<string, string> = { RPC_WORKER_COUNT: String(options.workers) };
  if (database) env.DATABASE_URL = database.url;
  const serve = stack.use(
    await startBenchServe({
      relays: [relay.url],
      dataDir,
      env,
      args: options.args,
      script: options.script,
    }),
  );
  await serve.waitReady(30_000);
  await serve.api("POST", "/api/keys", { name: "bench" }, [201]);
  const authorization = await serve.api("POST", "/api/authorizations", {
    key: "bench",
    ...options.authorization,
  }, [201]);
  const pids: Pids = { keycast: serve.pid, relay: childPids(Deno.pid, "relay.ts")[0] };
  const resources = stack.move();
  return {
    serve,
    authorization,
    pids,
    [Symbol.asyncDispose]: () => resources.disposeAsync(),
  };
}
