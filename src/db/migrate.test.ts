import assert from "node:assert/strict";
import { sql } from "kysely";
import { postgresTestDb, postgresUnavailable, sqliteTestDb } from "../../tests/helpers/db.ts";
import { type Db, ForeignKeyViolationError } from "./db.ts";
import { migrate, readMigrations, splitStatements } from "./migrate.ts";
import { openSqlite } from "./sqlite.ts";

/** A schema in a form both engines can be read into and compared. */
interface Schema {
  /** `table.column` → `TYPE NOT NULL?` with PostgreSQL types mapped to SQLite storage types. */
  columns: Record<string, string>;
  /** `table` → primary key columns. */
  primaryKeys: Record<string, string>;
  /** `table(columns)` of every unique constraint or unique index, sorted. */
  uniques: string[];
  /** `table(columns) → table(columns) on delete ACTION`, sorted. */
  foreignKeys: string[];
  /** `name: table(columns)[ partial]` of every other index, sorted. */
  indexes: string[];
}

/** What each PostgreSQL type is stored as in SQLite (uuid and JSON as text, times as ms). */
const TYPE_MAP: Record<string, string> = {
  uuid: "TEXT",
  text: "TEXT",
  jsonb: "TEXT",
  "timestamp with time zone": "INTEGER",
  integer: "INTEGER",
  bigint: "INTEGER",
  real: "REAL",
};

async function postgresSchema(db: Db): Promise<Schema> {
  const run = async <T>(text: string) => (await sql.raw<T>(text).execute(db.kysely)).rows;
  const columns: Record<string, string> = {};
  for (
    const row of await run<{ t: string; c: string; type: string; nullable: string }>(
      `select table_name t, column_name c, data_type type, is_nullable nullable
         from information_schema.columns where table_schema = 'public'`,
    )
  ) {
    const type = TYPE_MAP[row.type];
    assert.ok(type, `no SQLite mapping for PostgreSQL type ${row.type}`);
    columns[`${row.t}.${row.c}`] = `${type}${row.nullable === "NO" ? " NOT NULL" : ""}`;
  }
  const constraints = await run<{ t: string; kind: string; cols: string; ref: string | null }>(
    `select con.conrelid::regclass::text t, con.contype kind,
            (select string_agg(a.attname, ',' order by k.ord) from unnest(con.conkey)
               with ordinality k(attnum, ord)
               join pg_attribute a on a.attrelid = con.conrelid and a.attnum = k.attnum) cols,
            case when con.contype = 'f' then con.confrelid::regclass::text || '(' ||
              (select string_agg(a.attname, ',' order by k.ord) from unnest(con.confkey)
                 with ordinality k(attnum, ord)
                 join pg_attribute a on a.attrelid = con.confrelid and a.attnum = k.attnum)
              || ') on delete ' || case con.confdeltype when 'r' then 'RESTRICT'
                when 'c' then 'CASCADE' when 'n' then 'SET NULL' when 'a' then 'NO ACTION'
                else con.confdeltype::text end end ref
       from pg_constraint con join pg_namespace n on n.oid = con.connamespace
      where n.nspname = 'public' and con.contype in ('p', 'u', 'f')`,
  );
  const primaryKeys: Record<string, string> = {};
  const uniques: string[] = [];
  const foreignKeys: string[] = [];
  for (const c of constraints) {
    if (c.kind === "p") primaryKeys[c.t] = c.cols;
    if (c.kind === "u") uniques.push(`${c.t}(${c.cols})`);
    if (c.kind === "f") foreignKeys.push(`${c.t}(${c.cols}) → ${c.ref}`);
  }
  const indexes = (await run<{ name: string; t: string; def: string }>(
    `select indexname name, tablename t, indexdef def from pg_indexes where schemaname = 'public'
       and indexname not in (select conname from pg_constraint)`,
  )).map((row) => {
    const cols = /\(([^)]*)\)/.exec(row.def)![1]!.replace(/\s/g, "");
    const unique = /^CREATE UNIQUE /i.test(row.def) ? "unique " : "";
    return `${row.name}: ${unique}${row.t}(${cols})${/ WHERE /i.test(row.def) ? " partial" : ""}`;
  });
  return {
    columns,
    primaryKeys,
    uniques: uniques.sort(),
    foreignKeys: foreignKeys.sort(),
    indexes: indexes.sort(),
  };
}

async function sqliteSchema(db: Db): Promise<Schema> {
  const run = async <T>(text: string) => (await sql.raw<T>(text).execute(db.kysely)).rows;
  const tables = (await run<{ name: string }>(
    `select name from sqlite_schema where type = 'table' and name not like 'sqlite_%'`,
  )).map((row) => row.name);
  const schema: Schema = {
    columns: {},
    primaryKeys: {},
    uniques: [],
    foreignKeys: [],
    indexes: [],
  };
  for (const table of tables) {
    const info = await run<{ name: string; type: string; notnull: number; pk: number }>(
      `pragma table_info(${table})`,
    );
    for (const column of info) {
      // A primary key column is never null in PostgreSQL; SQLite reports a rowid alias as nullable.
      const notNull = column.notnull === 1 || column.pk > 0;
      schema.columns[`${table}.${column.name}`] = `${column.type.toUpperCase()}${
        notNull ? " NOT NULL" : ""
      }`;
    }
    schema.primaryKeys[table] = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk)
      .map((c) => c.name).join(",");
    for (
      const index of await run<{ name: string; unique: number; origin: string; partial: number }>(
        `pragma index_list(${table})`,
      )
    ) {
      if (index.origin === "pk") continue;
      const cols = (await run<{ name: string }>(`pragma index_info(${index.name})`))
        .map((c) => c.name).join(",");
      // A unique constraint (origin "u") is a constraint in PostgreSQL too; a unique index made
      // with CREATE UNIQUE INDEX (origin "c") is an index in both.
      if (index.unique === 1 && index.origin === "u") schema.uniques.push(`${table}(${cols})`);
      else {
        const unique = index.unique === 1 ? "unique " : "";
        schema.indexes.push(
          `${index.name}: ${unique}${table}(${cols})${index.partial ? " partial" : ""}`,
        );
      }
    }
    const keys = await run<
      { id: number; table: string; from: string; to: string; on_delete: string }
    >(
      `pragma foreign_key_list(${table})`,
    );
    for (const id of new Set(keys.map((k) => k.id))) {
      const parts = keys.filter((k) => k.id === id);
      schema.foreignKeys.push(
        `${table}(${parts.map((k) => k.from).join(",")}) → ${parts[0]!.table}(${
          parts.map((k) => k.to).join(",")
        }) on delete ${parts[0]!.on_delete}`,
      );
    }
  }
  schema.uniques.sort();
  schema.foreignKeys.sort();
  schema.indexes.sort();
  return schema;
}

Deno.test("both engines end their migrations with the same tables, columns, keys and indexes", async (t) => {
  const reason = await postgresUnavailable();
  if (reason && Deno.env.get("CI") !== "true") {
    // deno-lint-ignore no-console -- the skip reason must reach the test output
    console.log(`skipped: ${reason}`);
    return;
  }
  await using postgres = await postgresTestDb();
  await using sqlite = await sqliteTestDb();
  const [fromPostgres, fromSqlite] = [await postgresSchema(postgres), await sqliteSchema(sqlite)];
  for (const part of ["columns", "primaryKeys", "uniques", "foreignKeys", "indexes"] as const) {
    await t.step(part, () => assert.deepEqual(fromSqlite[part], fromPostgres[part]));
  }
  assert.ok(fromPostgres.foreignKeys.length >= 4 && fromPostgres.indexes.length >= 5);
});

Deno.test("both engines have the same migrations, by version and name", async () => {
  const [postgres, sqlite] = [await readMigrations("postgres"), await readMigrations("sqlite")];
  assert.deepEqual(sqlite.map((m) => m.name), postgres.map((m) => m.name));
});

Deno.test("migrate() applies each migration once and records it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using db = await openSqlite({ path: `${dir}/keycast.db` });
    const names = (await readMigrations("sqlite")).map((m) => m.name);
    assert.deepEqual(await migrate(db), names);
    assert.deepEqual(await migrate(db), []);
    const recorded = await db.kysely.selectFrom("schema_migrations").select("name")
      .orderBy("version").execute();
    assert.deepEqual(recorded.map((r) => r.name), names);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("splitStatements() splits on line-ending semicolons and drops comment lines", () => {
  assert.deepEqual(splitStatements("-- c\ncreate table a (x int);\n\ncreate index i on a (x);\n"), [
    "create table a (x int)",
    "create index i on a (x)",
  ]);
});

Deno.test("the accounts migration rebuilds SQLite's keys table and keeps every reference to it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using db = await openSqlite({ path: `${dir}/keycast.db` });
    const all = await readMigrations("sqlite");
    await migrate(db, all.filter((m) => m.version < 3));
    const keyId = crypto.randomUUID();
    const pubkey = "a".repeat(64);
    await sql`insert into keys (id, name, pubkey, secret_sealed) values
      (${keyId}, 'alice', ${pubkey}, 'sealed')`.execute(db.kysely);
    await sql`insert into authorizations (id, key_id, bunker_pubkey, bunker_secret_sealed,
      secret_hash) values (${crypto.randomUUID()}, ${keyId}, ${"b".repeat(64)}, 'sealed',
      ${"c".repeat(64)})`.execute(db.kysely);

    assert.deepEqual(await migrate(db, all), all.filter((m) => m.version >= 3).map((m) => m.name));
    const key = await db.kysely.selectFrom("keys").selectAll().executeTakeFirstOrThrow();
    assert.deepEqual({ ...key, created_at: 0 }, {
      id: keyId,
      name: "alice",
      pubkey,
      secret_sealed: "sealed",
      created_at: 0,
      account_id: null,
    });
    const enforced = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db.kysely);
    assert.equal(enforced.rows[0]?.foreign_keys, 1, "foreign keys are on again");
    await assert.rejects(
      sql`delete from keys where id = ${keyId}`.execute(db.kysely),
      ForeignKeyViolationError,
      "authorizations still reference keys",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a foreign-keys-off migration that leaves a dangling reference is rolled back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await using db = await openSqlite({ path: `${dir}/keycast.db` });
    const migrations = [
      { version: 1, name: "0001_a.sql", sql: "create table p (id integer primary key);\n" },
      {
        version: 2,
        name: "0002_b.sql",
        sql: "-- keycast: foreign-keys off\n" +
          "create table c (p integer references p (id));\ninsert into c values (42);\n",
      },
    ];
    await assert.rejects(
      migrate(db, migrations),
      /0002_b\.sql: 1 rows of c reference missing rows of p/,
    );
    const tables = await sql<{ name: string }>`select name from sqlite_schema where name = 'c'`
      .execute(db.kysely);
    assert.deepEqual(tables.rows, [], "the migration was rolled back");
    const enforced = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(db.kysely);
    assert.equal(enforced.rows[0]?.foreign_keys, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
