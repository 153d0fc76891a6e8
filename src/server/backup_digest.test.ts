import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { backupDigest, DigestDeadlineError } from "./backup_digest.ts";
import { tempDir } from "../../tests/helpers/temp_dir.ts";
import { digestOf, makeDb } from "./backup_testing.ts";

const TABLES = "create table t (a, b); create table w (k text primary key, v) without rowid;";

Deno.test("backupDigest() tells every storage class, framing and order apart", async () => {
  await using dir = await tempDir("keycast-digest-test-");
  const bodies = [
    "insert into t values (1, null)",
    "insert into t values (1.0, null)",
    "insert into t values ('1', null)",
    "insert into t values (x'31', null)",
    "insert into t values (null, null)",
    "insert into t values ('ab', 'c')",
    "insert into t values ('a', 'bc')",
    "insert into t values ('a', null), ('b', null)",
    "insert into t (rowid, a) values (2, 'a'), (1, 'b')",
    "insert into t (rowid, a) values (1, 'a'), (3, 'b')",
    "insert into w values ('x', 1)",
    "insert into w values ('x', 2)",
    "",
  ];
  const digests = new Set<string>();
  for (const [i, body] of bodies.entries()) {
    const path = join(dir.path, `${i}.db`);
    makeDb(path, `${TABLES} ${body}`);
    digests.add(await digestOf(path));
  }
  assert.equal(digests.size, bodies.length);
});

Deno.test("backupDigest() covers the schema: an index, a trigger or a pragma changes it", async () => {
  await using dir = await tempDir("keycast-digest-test-");
  const extras = [
    "",
    "create index t_a on t (a);",
    "create trigger t_ins after insert on t begin select 1; end;",
    "create view v as select * from t;",
    "pragma user_version = 7;",
  ];
  const digests = new Set<string>();
  for (const [i, extra] of extras.entries()) {
    const path = join(dir.path, `${i}.db`);
    makeDb(path, `${TABLES} insert into t values (1, 2); ${extra}`);
    digests.add(await digestOf(path));
  }
  assert.equal(digests.size, extras.length);
});

Deno.test("backupDigest() stops at its deadline", async () => {
  await using dir = await tempDir("keycast-digest-test-");
  const path = join(dir.path, "big.db");
  makeDb(
    path,
    `${TABLES} insert into t with recursive n(i) as (select 1 union all select i + 1 from n ` +
      "where i < 1000) select i, i from n;",
  );
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    await assert.rejects(
      backupDigest(db, { deadline: performance.now() - 1 }),
      DigestDeadlineError,
    );
  } finally {
    db.close();
  }
});
