import assert from "node:assert/strict";
import { join } from "node:path";
import { PG_DUMP_COMMAND } from "../../db/postgres.ts";
import { backupFileName, SQLITE_HEADER } from "../../domain/backup.ts";
import { EXIT } from "../io.ts";
import { backupCommand } from "./backup.ts";
import { fakeServer, json, testContext } from "./testing.ts";
import { tempDir } from "../../../tests/helpers/temp_dir.ts";

/** Bytes that start like an SQLite database. */
const SNAPSHOT = new Uint8Array([...SQLITE_HEADER, ...new Uint8Array(4096).fill(7)]);

/** A server answering `POST /api/backup` with `bytes` (and `headers` over the usual ones). */
function backupServer(bytes = SNAPSHOT, headers: Record<string, string> = {}) {
  return fakeServer(() =>
    new Response(bytes, {
      headers: {
        "content-type": "application/vnd.sqlite3",
        "content-length": String(bytes.byteLength),
        ...headers,
      },
    })
  );
}

async function entries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

Deno.test("backup writes the snapshot with mode 0600 and reminds that the master key is apart", async () => {
  await using dir = await tempDir("keycast-cli-backup-");
  const output = join(dir.path, "b.db");
  const server = backupServer();
  const ctx = testContext(["--output", output, "--data-dir", "/srv/keycast"], {
    fetch: server.fetch,
  });
  assert.equal(await backupCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.deepEqual(server.requests.map((r) => [r.method, r.path]), [["POST", "/api/backup"]]);
  assert.deepEqual(await Deno.readFile(output), SNAPSHOT);
  assert.equal((await Deno.stat(output)).mode! & 0o777, 0o600);
  assert.deepEqual(await entries(dir.path), ["b.db"], "no temp file left");
  assert.equal(ctx.stdout(), `Wrote the backup to ${output} (${SNAPSHOT.byteLength} bytes)\n`);
  assert.match(ctx.stderr(), /not the master key itself: it cannot be restored without it/);
  assert.match(ctx.stderr(), /\/srv\/keycast\/master\.key, or KEYCAST_MASTER_KEY/);
});

Deno.test("backup refuses to replace an existing file unless --force", async () => {
  await using dir = await tempDir("keycast-cli-backup-");
  const output = join(dir.path, "b.db");
  await Deno.writeTextFile(output, "keep me");
  const server = backupServer();

  const refused = testContext(["--output", output], { fetch: server.fetch });
  assert.equal(await backupCommand.run(refused), EXIT.usage);
  assert.match(refused.stderr(), /the file exists; pass --force to replace it/);
  assert.equal(server.requests.length, 0, "nothing asked of the server");
  assert.equal(await Deno.readTextFile(output), "keep me");

  const forced = testContext(["--output", output, "--force"], { fetch: server.fetch });
  assert.equal(await backupCommand.run(forced), EXIT.ok, forced.stderr());
  assert.deepEqual(await Deno.readFile(output), SNAPSHOT);
  assert.equal((await Deno.stat(output)).mode! & 0o777, 0o600);
});

Deno.test("backup against PostgreSQL prints the server's pg_dump hint, exits 1, writes nothing", async () => {
  await using dir = await tempDir("keycast-cli-backup-");
  const hint = `Cannot take a backup through keycast: the database is PostgreSQL, back it up ` +
    `with pg_dump: ${PG_DUMP_COMMAND}`;
  const server = fakeServer(() => json({ error: hint }, 409));
  const ctx = testContext(["--output", join(dir.path, "b.db")], { fetch: server.fetch });
  assert.equal(await backupCommand.run(ctx), EXIT.failed);
  assert.equal(ctx.stderr(), `Error: ${hint} (HTTP 409)\n`);
  assert.deepEqual(await entries(dir.path), []);
});

Deno.test("backup fails when the download is cut short, and leaves no file", async () => {
  await using dir = await tempDir("keycast-cli-backup-");
  const server = backupServer(SNAPSHOT.subarray(0, 100), { "content-length": "4112" });
  const ctx = testContext(["--output", join(dir.path, "b.db")], { fetch: server.fetch });
  assert.equal(await backupCommand.run(ctx), EXIT.failed);
  assert.match(
    ctx.stderr(),
    /^Error: Cannot save the backup to ".*b\.db": keycast announced 4112 bytes but sent 100; try again\n$/,
  );
  assert.deepEqual(await entries(dir.path), []);
});

Deno.test("backup refuses an answer that is not an SQLite file", async () => {
  await using dir = await tempDir("keycast-cli-backup-");
  const html = new TextEncoder().encode("<html>a proxy's login page, long enough</html>");
  for (
    const server of [
      backupServer(html),
      backupServer(SNAPSHOT, { "content-type": "text/html" }),
    ]
  ) {
    const ctx = testContext(["--output", join(dir.path, "b.db")], { fetch: server.fetch });
    assert.equal(await backupCommand.run(ctx), EXIT.failed);
    assert.match(ctx.stderr(), /not an SQLite database|text\/html, not a backup/);
    assert.deepEqual(await entries(dir.path), []);
  }
});

Deno.test("backup --output - writes the bytes to standard output, never to a terminal", async () => {
  const server = backupServer();
  const ctx = testContext(["--output", "-"], { fetch: server.fetch });
  assert.equal(await backupCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.deepEqual(ctx.stdoutBytes(), SNAPSHOT);
  assert.equal(ctx.stdout(), "");
  assert.match(ctx.stderr(), /Wrote the backup to standard output \(4112 bytes\)/);

  const terminal = testContext(["--output", "-"], { fetch: server.fetch, stdoutIsTerminal: true });
  assert.equal(await backupCommand.run(terminal), EXIT.usage);
  assert.match(terminal.stderr(), /Cannot write a backup to a terminal/);
  assert.equal(server.requests.length, 1);
});

Deno.test("backupFileName() is keycast-<UTC time>.db, safe in any file system", () => {
  assert.equal(
    backupFileName(new Date("2025-01-02T03:04:05.678Z")),
    "keycast-20250102T030405Z.db",
  );
});
