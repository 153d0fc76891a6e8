/**
 * End to end: `keycast backup` of a running server, `keycast restore` into an empty data dir with
 * the same master key, and a client bound before the backup signing through the restored server;
 * the ways restore refuses (a copy changed after the server sealed it, another master key, a data
 * dir in use, an existing database) and a backup of a PostgreSQL-backed server (pg_dump).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { base64 } from "@scure/base";
import { generateSecretKey, getPublicKey, verifyEvent } from "nostr-tools/pure";
import { PG_DUMP_COMMAND } from "../src/db/postgres.ts";
import { postgresUnavailable } from "./helpers/db.ts";
import { eventually, Keycast, within } from "./helpers/keycast.ts";
import { runKeycast, startServeInProcess } from "./helpers/serve.ts";
import { tempDir } from "./helpers/temp_dir.ts";

async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

/** The non-JSON lines of stderr (the one-line reason; log lines are JSON). */
function reasons(stderr: string): string[] {
  return stderr.trim().split("\n").filter((line) => line !== "" && !line.startsWith("{"));
}

async function untilReady(url: string): Promise<void> {
  await eventually("the restored server is ready", async () => {
    const response = await fetch(`${url}/health/ready`);
    await response.body?.cancel();
    return response.ok;
  }, { timeoutMs: 15_000, intervalMs: 50 });
}

Deno.test("backup, restore into an empty data dir, and a client bound before the backup signs again", async (t) => {
  await using keycast = await Keycast.start();
  await using scratch = await tempDir("keycast-backup-e2e-");
  const relay = keycast.relays[0]!.url;
  const authorization = await keycast.authorize("alice", { relays: [relay] });
  const signer = await keycast.signer(authorization.bunker_url);
  await within(signer.connect());
  const before = await within(
    signer.signEvent({ kind: 1, created_at: 1_700_000_000, tags: [], content: "before" }),
  );
  assert.ok(verifyEvent(before));
  assert.equal(before.pubkey, authorization.user_pubkey);

  const backup = join(scratch.path, "b.db");
  await t.step(
    "keycast backup writes a 0600 snapshot and says the master key is apart",
    async () => {
      const result = await runKeycast([
        "backup",
        "--output",
        backup,
        "--server",
        keycast.server.url,
        "--data-dir",
        keycast.dataDir,
      ]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^Wrote the backup to .*b\.db \(\d+ bytes\)\n$/);
      assert.match(result.stderr, /not the master key itself: it cannot be restored without it/);
      assert.equal((await Deno.stat(backup)).mode! & 0o777, 0o600);
      const leftovers = (await entries(keycast.dataDir)).filter((name) => name.startsWith("."));
      assert.deepEqual(leftovers, [], "the server kept no temp copy");
    },
  );

  const masterKey = (await Deno.readTextFile(join(keycast.dataDir, "master.key"))).trim();
  await keycast.server.stop();
  const restored = join(scratch.path, "restored");

  await t.step(
    "restore of a copy that binds another client: exit 2, the seal does not match",
    async () => {
      const changed = join(scratch.path, "changed.db");
      await Deno.copyFile(backup, changed);
      const db = new DatabaseSync(changed);
      try {
        // Client bindings are not secrets: nothing but the seal protects them.
        db.prepare(
          "insert into authorization_clients (authorization_id, client_pubkey) " +
            "select id, ? from authorizations",
        ).run(getPublicKey(generateSecretKey()));
      } finally {
        db.close();
      }
      const result = await runKeycast(["restore", changed, "--data-dir", restored], {
        env: { KEYCAST_MASTER_KEY: masterKey },
      });
      assert.equal(result.code, 2, result.stderr);
      assert.deepEqual(reasons(result.stderr), [
        `Cannot restore "${changed}": its seal does not match what it holds: it was changed ` +
        "after keycast sealed it (or sealed by a server with another master key); restore a " +
        "backup you trust",
      ]);
      assert.deepEqual(await entries(restored), ["keycast.lock"]);
    },
  );

  await t.step("restore with another master key: exit 2, one line, no database", async () => {
    const other = base64.encode(crypto.getRandomValues(new Uint8Array(32)));
    const result = await runKeycast(["restore", backup, "--data-dir", restored], {
      env: { KEYCAST_MASTER_KEY: other },
    });
    assert.equal(result.code, 2, result.stderr);
    assert.deepEqual(reasons(result.stderr), [
      `Cannot restore "${backup}": the master key in KEYCAST_MASTER_KEY is not the one this ` +
      "backup's secrets were sealed with; use the master key of the server the backup was " +
      "taken from",
    ]);
    assert.deepEqual(await entries(restored), ["keycast.lock"]);
  });

  await t.step("restore with the original master key: exit 0, what it restored", async () => {
    const result = await runKeycast(["restore", backup, "--data-dir", restored], {
      env: { KEYCAST_MASTER_KEY: masterKey },
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(
      result.stdout,
      `Restored ${backup} into ${join(restored, "keycast.db")}: 1 key, 1 authorization ` +
        "(0 revoked)\n",
    );
  });

  await t.step("the restored server signs for the client bound before the backup", async () => {
    await using server = await startServeInProcess({
      args: ["--relay", relay],
      env: { KEYCAST_DATA_DIR: restored, KEYCAST_MASTER_KEY: masterKey },
    });
    await untilReady(server.url);
    // The same BunkerSigner, never connected again: bound clients survive a restore.
    const after = await within(
      signer.signEvent({ kind: 1, created_at: 1_700_000_001, tags: [], content: "after" }),
    );
    assert.ok(verifyEvent(after));
    assert.equal(after.pubkey, authorization.user_pubkey);
    assert.equal(after.content, "after");
  });
});

Deno.test("restore refuses a data dir a server holds, and an existing database unless --force", async (t) => {
  await using scratch = await tempDir("keycast-backup-e2e-");
  const dataDir = join(scratch.path, "data");
  const masterKey = base64.encode(crypto.getRandomValues(new Uint8Array(32)));
  const env = { KEYCAST_DATA_DIR: dataDir, KEYCAST_MASTER_KEY: masterKey };
  const server = await startServeInProcess({ args: ["--relay", "ws://127.0.0.1:9"], env });
  const backup = join(scratch.path, "b.db");
  try {
    const token = (await Deno.readTextFile(join(dataDir, "admin.token"))).trim();
    const response = await fetch(`${server.url}/api/backup`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(response.status, 200);
    await Deno.writeFile(backup, response.body!);

    await t.step("while serve runs: exit 1, stop it first", async () => {
      const result = await runKeycast(["restore", backup, "--data-dir", dataDir], { env });
      assert.equal(result.code, 1, result.stderr);
      assert.deepEqual(reasons(result.stderr), [
        `Cannot restore: another keycast (pid ${Deno.pid}) is using the data directory ` +
        `"${dataDir}"; stop it first, or give this one another --data-dir`,
      ]);
    });
  } finally {
    await server.stop();
  }

  await t.step("over the existing database without --force: exit 2", async () => {
    const result = await runKeycast(["restore", backup, "--data-dir", dataDir], { env });
    assert.equal(result.code, 2, result.stderr);
    assert.match(result.stderr, /it already has a database \(keycast\.db\); pass --force/);
  });

  await t.step("with --force: exit 0, and the old database is kept aside", async () => {
    const old = await Deno.readFile(join(dataDir, "keycast.db"));
    const result = await runKeycast(["restore", backup, "--data-dir", dataDir, "--force"], {
      env,
    });
    assert.equal(result.code, 0, result.stderr);
    const kept = (await entries(dataDir)).filter((name) => name.includes(".before-restore-"));
    assert.equal(kept.length, 1, kept.join(", "));
    assert.match(kept[0]!, /^keycast\.db\.before-restore-\d{8}T\d{6}Z$/);
    assert.deepEqual(await Deno.readFile(join(dataDir, kept[0]!)), old);
    assert.match(result.stdout, /The previous database is kept as .*before-restore-/);
  });
});

Deno.test("backup of a PostgreSQL-backed server: exit 1 with the pg_dump command, no file", async () => {
  const reason = await postgresUnavailable();
  if (reason) {
    if (Deno.env.get("CI") === "true") throw new Error(`PostgreSQL is required in CI: ${reason}`);
    // deno-lint-ignore no-console -- the skip reason must reach the test output
    console.log(`skipped: ${reason}`);
    return;
  }
  await using keycast = await Keycast.start({ database: "postgres" });
  await using scratch = await tempDir("keycast-backup-e2e-");
  const output = join(scratch.path, "b.db");
  const result = await runKeycast([
    "backup",
    "--output",
    output,
    "--server",
    keycast.server.url,
    "--data-dir",
    keycast.dataDir,
  ]);
  assert.equal(result.code, 1, result.stderr);
  assert.ok(result.stderr.includes(PG_DUMP_COMMAND), result.stderr);
  assert.doesNotMatch(result.stderr, /postgres:\/\//);
  assert.deepEqual(await entries(scratch.path), []);
});
