import assert from "node:assert/strict";
import { join } from "node:path";
import { TestApp } from "../../tests/helpers/app.ts";
import { postgresTestDb, testEachDatabaseKind } from "../../tests/helpers/db.ts";
import type { Db } from "../db/db.ts";
import { migrate } from "../db/migrate.ts";
import { PG_DUMP_COMMAND } from "../db/postgres.ts";
import { openSqlite } from "../db/sqlite.ts";
import { hasSqliteHeader } from "../domain/backup.ts";

/** A migrated database of `kind` and a data dir for its snapshots, removed when disposed. */
async function database(
  kind: "sqlite" | "postgres",
): Promise<{ db: Db; dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "keycast-http-backup-" });
  const db = kind === "sqlite"
    ? await openSqlite({ path: join(dir, "keycast.db") })
    : await postgresTestDb();
  if (kind === "sqlite") await migrate(db);
  return {
    db,
    dir,
    [Symbol.asyncDispose]: async () => {
      await db.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

testEachDatabaseKind("POST /api/backup", async (kind, t) => {
  await using data = await database(kind);
  await using app = await TestApp.create(data.db, {
    snapshots: { dir: data.dir, snapshot: (path) => data.db.snapshot(path) },
  });

  await t.step("needs the admin token", async () => {
    const res = await app.request("POST", "/api/backup", undefined, {});
    assert.equal(res.status, 401);
    await res.body?.cancel();
  });

  if (kind === "postgres") {
    await t.step("409 naming the pg_dump command, without the database URL", async () => {
      const res = await app.json("POST", "/api/backup");
      assert.equal(res.status, 409);
      assert.ok(res.body.error.includes(PG_DUMP_COMMAND), res.body.error);
      assert.equal(res.body.error.includes("postgres://"), false);
    });
    return;
  }

  await t.step("200 with the SQLite file as an attachment that is never cached", async () => {
    assert.equal((await app.json("POST", "/api/keys", { name: "alice" })).status, 201);
    const res = await app.request("POST", "/api/backup");
    assert.equal(res.status, 200);
    const bytes = new Uint8Array(await res.arrayBuffer());
    assert.ok(hasSqliteHeader(bytes));
    assert.equal(res.headers.get("content-type"), "application/vnd.sqlite3");
    assert.equal(res.headers.get("content-length"), String(bytes.byteLength));
    assert.equal(res.headers.get("cache-control"), "no-store");
    assert.match(
      res.headers.get("content-disposition") ?? "",
      /^attachment; filename="keycast-\d{8}T\d{6}Z\.db"$/,
    );
  });

  await t.step("GET is no route", async () => {
    const res = await app.request("GET", "/api/backup");
    assert.equal(res.status, 404);
    await res.body?.cancel();
  });
});
