import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { join } from "node:path";
import { AdminTokenError, ensureAdminToken, readAdminToken } from "./admin_token.ts";
import { tempDir } from "../../tests/helpers/temp_dir.ts";

const digest = (token: string) => sha256(new TextEncoder().encode(token));

Deno.test("ensureAdminToken() creates a 0600 token file once, then reads it back", async () => {
  await using dir = await tempDir("keycast-admin-token-");
  const dataDir = join(dir.path, "data");
  const first = await ensureAdminToken({ dataDir });
  assert.deepEqual([first.source, first.created, first.path], [
    "file",
    true,
    join(dataDir, "admin.token"),
  ]);
  const info = await Deno.stat(first.path!);
  assert.deepEqual(info.mode! & 0o777, 0o600);
  assert.deepEqual((await Deno.stat(dataDir)).mode! & 0o777, 0o700);
  const text = await Deno.readTextFile(first.path!);
  assert.ok(/^[A-Za-z0-9_-]{43}\n$/.test(text), "32 bytes as base64url and a newline");
  assert.deepEqual(first.hash, digest(text.trim()));

  const second = await ensureAdminToken({ dataDir });
  assert.deepEqual([second.created, second.hash], [false, first.hash]);
  const read = await readAdminToken({ dataDir });
  assert.deepEqual([read.token, read.source], [text.trim(), "file"]);
});

Deno.test("ensureAdminToken() prefers KEYCAST_ADMIN_TOKEN and creates no file", async () => {
  await using dir = await tempDir("keycast-admin-token-");
  const envToken = "a-long-enough-admin-token";
  const ensured = await ensureAdminToken({ dataDir: dir.path, envToken });
  assert.deepEqual([ensured.source, ensured.created, ensured.path], ["env", false, undefined]);
  assert.deepEqual(ensured.hash, digest(envToken));
  assert.deepEqual([...Deno.readDirSync(dir.path)], []);
  assert.deepEqual((await readAdminToken({ dataDir: dir.path, envToken })).token, envToken);
  const padded = await ensureAdminToken({ dataDir: dir.path, envToken: ` ${envToken}\n` });
  assert.deepEqual(padded.hash, digest(envToken));
});

Deno.test("ensureAdminToken() rejects a short or spaced KEYCAST_ADMIN_TOKEN without echoing it", async () => {
  await using dir = await tempDir("keycast-admin-token-");
  for (const envToken of ["short", "has a space in the token"]) {
    await assert.rejects(ensureAdminToken({ dataDir: dir.path, envToken }), (err: unknown) => {
      assert.ok(err instanceof AdminTokenError);
      assert.match(err.message, /KEYCAST_ADMIN_TOKEN/);
      assert.ok(!err.message.includes(envToken), "the message echoes the token");
      return true;
    });
  }
});

Deno.test("admin token files readable by group or others are refused", async () => {
  await using dir = await tempDir("keycast-admin-token-");
  const { path } = await ensureAdminToken({ dataDir: dir.path });
  await Deno.chmod(path!, 0o640);
  await assert.rejects(
    ensureAdminToken({ dataDir: dir.path }),
    (err: unknown) => err instanceof AdminTokenError && /chmod 600/.test(err.message),
  );
  await assert.rejects(
    readAdminToken({ dataDir: dir.path }),
    (err: unknown) => err instanceof AdminTokenError && /mode 0640/.test(err.message),
  );
});

Deno.test("readAdminToken() explains a missing or empty token file", async () => {
  await using dir = await tempDir("keycast-admin-token-");
  await assert.rejects(readAdminToken({ dataDir: dir.path }), (missing: unknown) => {
    assert.ok(missing instanceof AdminTokenError);
    assert.match(missing.message, /keycast serve/);
    assert.match(missing.message, /KEYCAST_ADMIN_TOKEN/);
    return true;
  });
  await Deno.writeTextFile(join(dir.path, "admin.token"), "", { mode: 0o600 });
  await assert.rejects(
    readAdminToken({ dataDir: dir.path }),
    (err: unknown) => err instanceof AdminTokenError && /empty/.test(err.message),
  );
});

Deno.test("ensureAdminToken() gives parallel first runs the same token", async () => {
  await using dir = await tempDir("keycast-admin-token-");
  const results = await Promise.all(
    Array.from({ length: 4 }, () => ensureAdminToken({ dataDir: dir.path })),
  );
  assert.equal(results.filter((r) => r.created).length, 1);
  for (const r of results) assert.deepEqual(r.hash, results[0]!.hash);
});
