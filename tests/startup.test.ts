/**
 * `keycast serve` failing to start: each cause gives one line that names it and the fix, the
 * right exit code, and creates nothing it should not (no master key, no database file) — and a
 * second process never shares a data dir or a PostgreSQL database with a running one.
 */
import assert from "node:assert/strict";
import { base64 } from "@scure/base";
import postgres from "postgres";
import { INSTANCE_LOCK_KEY } from "../src/server/instance_lock.ts";
import { deadline } from "../src/util/async.ts";
import { emptyPostgresDatabase, postgresUnavailable } from "./helpers/db.ts";
import { runKeycast, startServe } from "./helpers/serve.ts";
import { TcpProxy } from "./helpers/tcp_proxy.ts";

const RELAY = ["--relay", "ws://127.0.0.1:9"];

/** The non-JSON lines of stderr (the one-line reason; log lines are JSON). */
function reasons(stderr: string): string[] {
  return stderr.trim().split("\n").filter((line) => line !== "" && !line.startsWith("{"));
}

/** A temp dir, removed when disposed; `${dir}` is its path. */
async function tempDir(): Promise<{ path: string; toString(): string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "keycast-startup-" });
  return {
    path,
    toString: () => path,
    [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }),
  };
}

async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

async function skipWithoutPostgres(): Promise<boolean> {
  const reason = await postgresUnavailable();
  if (!reason) return false;
  if (Deno.env.get("CI") === "true") throw new Error(`PostgreSQL is required in CI: ${reason}`);
  // deno-lint-ignore no-console -- the skip reason must reach the test output
  console.log(`skipped: ${reason}`);
  return true;
}

Deno.test("a busy port: one line, exit 1, and nothing created in the data dir", async () => {
  await using dir = await tempDir();
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = String(taken.addr.port);
  const result = await runKeycast(["serve", ...RELAY, "--host", "127.0.0.1", "--port", port], {
    env: { KEYCAST_DATA_DIR: `${dir}/data` },
  });
  assert.equal(result.code, 1, result.stderr);
  assert.deepEqual(reasons(result.stderr).length, 1, result.stderr);
  assert.match(result.stderr, /Cannot listen on 127\.0\.0\.1:\d+: the address is in use/);
  assert.deepEqual(await entries(dir.path), []);
});

Deno.test("a data dir that cannot be created: one line naming it, exit 2", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(`${dir}/file`, "not a directory");
  const result = await runKeycast(["serve", ...RELAY, "--port", "0"], {
    env: { KEYCAST_DATA_DIR: `${dir}/file/data` },
  });
  assert.equal(result.code, 2, result.stderr);
  assert.deepEqual(reasons(result.stderr), [
    `Cannot use the data directory "${dir}/file/data": ${
      reasons(result.stderr)[0]!.split(": ").slice(1).join(": ")
    }`,
  ]);
  assert.match(result.stderr, /choose another --data-dir or fix its permissions/);
});

Deno.test("a second serve on the same data dir is refused with the first one's pid", async () => {
  await using dir = await tempDir();
  const env = { KEYCAST_DATA_DIR: dir.path };
  await using first = await startServe({ args: RELAY, env });
  const second = await runKeycast(["serve", ...RELAY, "--port", "0"], { env });
  assert.equal(second.code, 1, second.stderr);
  assert.match(
    second.stderr,
    /another keycast \(pid \d+\) is using the data directory/,
  );
  const health = await fetch(`${first.url}/health`);
  assert.equal((await health.json()).database, "ok");
  assert.equal(await first.stop(), 0);
});

Deno.test("a second serve on the same PostgreSQL database is refused", async () => {
  if (await skipWithoutPostgres()) return;
  await using database = await emptyPostgresDatabase();
  await using dirA = await tempDir();
  await using dirB = await tempDir();
  const key = base64.encode(crypto.getRandomValues(new Uint8Array(32)));
  const env = { DATABASE_URL: database.url, KEYCAST_MASTER_KEY: key };
  await using first = await startServe({
    args: RELAY,
    env: { ...env, KEYCAST_DATA_DIR: dirA.path },
  });
  const second = await runKeycast(["serve", ...RELAY, "--port", "0"], {
    env: { ...env, KEYCAST_DATA_DIR: dirB.path },
  });
  assert.equal(second.code, 1, second.stderr);
  assert.match(second.stderr, /another keycast is already serving the database/);
  // Migrating beside a serving keycast is refused as well, before anything is migrated.
  const migrate = await runKeycast(["migrate"], { env: { ...env, KEYCAST_DATA_DIR: dirB.path } });
  assert.equal(migrate.code, 1, migrate.stderr);
  assert.equal(reasons(migrate.stderr).length, 1, migrate.stderr);
  assert.match(
    migrate.stderr,
    /^Cannot migrate: another keycast is already serving the database at .*; stop it first$/m,
  );
  assert.equal(await first.stop(), 0);
  // Once the first has stopped, its lock is gone.
  await using again = await startServe({
    args: RELAY,
    env: { ...env, KEYCAST_DATA_DIR: dirB.path },
  });
  assert.equal(await again.stop(), 0);
});

Deno.test("serve that loses its PostgreSQL instance lock to another process stops with exit 1", async () => {
  if (await skipWithoutPostgres()) return;
  await using database = await emptyPostgresDatabase();
  await using dir = await tempDir();
  const key = base64.encode(crypto.getRandomValues(new Uint8Array(32)));
  await using server = await startServe({
    args: RELAY,
    env: { DATABASE_URL: database.url, KEYCAST_MASTER_KEY: key, KEYCAST_DATA_DIR: dir.path },
  });
  // The lock's connection drops, and another session takes the lock before serve is back.
  const other = postgres(database.url, { max: 1, onnotice: () => {} });
  try {
    await other`select pg_terminate_backend(pid) from pg_stat_activity
      where application_name = 'keycast-instance-lock' and datname = current_database()`;
    await other`set lock_timeout = '10s'`;
    await other`select pg_advisory_lock(${INSTANCE_LOCK_KEY.toString()}::bigint)`;
    // serve checks its lock every 5 s: bounded by the lock check, not a guess at timing.
    const status = await deadline(server.status, 30_000);
    assert.equal(status.code, 1, server.lines.join("\n"));
    const errors = server.lines.filter((line) => line.includes('"level":"error"'));
    assert.equal(errors.length, 1, errors.join("\n"));
    assert.match(errors[0]!, /Lost the database's instance lock: another keycast took it/);
    assert.ok(server.lines.some((line) => line.includes('"Stopped"')));
  } finally {
    await other.end({ timeout: 1 });
  }
});

Deno.test("a wrong or missing master key for a database with secrets is refused at start", async (t) => {
  if (await skipWithoutPostgres()) return;
  await using database = await emptyPostgresDatabase();
  await using dirA = await tempDir();
  {
    await using first = await startServe({
      args: RELAY,
      env: { DATABASE_URL: database.url, KEYCAST_DATA_DIR: dirA.path },
    });
    const token = (await Deno.readTextFile(`${dirA.path}/admin.token`)).trim();
    const created = await fetch(`${first.url}/api/keys`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "alice" }),
    });
    assert.equal(created.status, 201, await created.text());
    assert.equal(await first.stop(), 0);
  }

  await t.step("a new data dir does not get a second master key", async () => {
    await using dirB = await tempDir();
    const result = await runKeycast(["serve", ...RELAY, "--port", "0"], {
      env: { DATABASE_URL: database.url, KEYCAST_DATA_DIR: dirB.path },
    });
    assert.equal(result.code, 2, result.stderr);
    assert.match(
      result.stderr,
      /master key file ".*master\.key" is missing, but the database holds/,
    );
    assert.ok(!(await entries(dirB.path)).includes("master.key"));
  });

  await t.step("another master key is refused, by env or by file", async () => {
    await using dirB = await tempDir();
    const other = base64.encode(crypto.getRandomValues(new Uint8Array(32)));
    const byEnv = await runKeycast(["serve", ...RELAY, "--port", "0"], {
      env: { DATABASE_URL: database.url, KEYCAST_DATA_DIR: dirB.path, KEYCAST_MASTER_KEY: other },
    });
    assert.equal(byEnv.code, 2, byEnv.stderr);
    assert.match(byEnv.stderr, /the master key in KEYCAST_MASTER_KEY is not the one this database/);
    assert.ok(!byEnv.stderr.includes(other));
    await Deno.writeTextFile(`${dirB}/master.key`, `${other}\n`, { mode: 0o600 });
    const byFile = await runKeycast(["migrate"], {
      env: { DATABASE_URL: database.url, KEYCAST_DATA_DIR: dirB.path },
    });
    assert.equal(byFile.code, 2, byFile.stderr);
    assert.match(byFile.stderr, /is not the one this database's secrets were sealed with/);
  });

  await t.step("the right master key starts", async () => {
    await using again = await startServe({
      args: RELAY,
      env: { DATABASE_URL: database.url, KEYCAST_DATA_DIR: dirA.path },
    });
    assert.equal(await again.stop(), 0);
  });
});

Deno.test("an unreachable PostgreSQL is waited for, then given up on with one line", async (t) => {
  if (await skipWithoutPostgres()) return;
  await using database = await emptyPostgresDatabase();
  const target = new URL(database.url);
  await using proxy = await TcpProxy.start({
    hostname: target.hostname,
    port: Number(target.port || 5432),
  });
  const proxied = new URL(database.url);
  proxied.hostname = "127.0.0.1";
  proxied.port = String(proxy.port);
  await proxy.cut();

  await t.step("--database-wait 1s: gives up with the cause and exit 1", async () => {
    await using dir = await tempDir();
    const result = await runKeycast(["serve", ...RELAY, "--port", "0", "--database-wait", "1s"], {
      env: { DATABASE_URL: proxied.href, KEYCAST_DATA_DIR: dir.path },
    });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /Cannot reach the database at 127\.0\.0\.1:\d+\/keycast_test_\w+/);
    assert.ok(!result.stderr.includes("postgres://"), "the URL with its user is not printed");
  });

  await t.step("the database coming up while serve waits: serve starts", async () => {
    await using dir = await tempDir();
    const serving = startServe({
      args: [...RELAY, "--database-wait", "30s"],
      env: { DATABASE_URL: proxied.href, KEYCAST_DATA_DIR: dir.path },
    });
    // Restored once serve has tried a few times (a bounded wait, not a guess at timing).
    const started = Date.now();
    while (proxy.refused < 3 && Date.now() - started < 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(proxy.refused >= 3, "serve did not keep trying the database");
    proxy.restore();
    await using server = await serving;
    const health = await fetch(`${server.url}/health`).then((response) => response.json());
    assert.equal(health.database, "ok");
    assert.equal(await server.stop(), 0);
  });

  await t.step("a database that does not exist: one line saying so", async () => {
    await using dir = await tempDir();
    const missing = new URL(database.url);
    missing.pathname = "/keycast_no_such_database";
    const result = await runKeycast(["serve", ...RELAY, "--port", "0"], {
      env: { DATABASE_URL: missing.href, KEYCAST_DATA_DIR: dir.path },
    });
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /keycast_no_such_database: it does not exist/);
  });
});
