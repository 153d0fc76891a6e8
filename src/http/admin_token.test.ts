import { sha256 } from "@noble/hashes/sha2.js";
import { join } from "node:path";
import {
  assertEquals,
  assertNotIncludes,
  assertOk,
  assertRejects,
  assertStringIncludes,
} from "../../tests/helpers/assert.ts";
import { AdminTokenError, ensureAdminToken, readAdminToken } from "./admin_token.ts";

async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "keycast-admin-token-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

const digest = (token: string) => sha256(new TextEncoder().encode(token));

Deno.test("ensureAdminToken() creates a 0600 token file once, then reads it back", async () => {
  await using dir = await tempDir();
  const dataDir = join(dir.path, "data");
  const first = await ensureAdminToken({ dataDir });
  assertEquals([first.source, first.created, first.path], [
    "file",
    true,
    join(dataDir, "admin.token"),
  ]);
  const info = await Deno.stat(first.path!);
  assertEquals(info.mode! & 0o777, 0o600);
  assertEquals((await Deno.stat(dataDir)).mode! & 0o777, 0o700);
  const text = await Deno.readTextFile(first.path!);
  assertOk(/^[A-Za-z0-9_-]{43}\n$/.test(text), "32 bytes as base64url and a newline");
  assertEquals(first.hash, digest(text.trim()));

  const second = await ensureAdminToken({ dataDir });
  assertEquals([second.created, second.hash], [false, first.hash]);
  const read = await readAdminToken({ dataDir });
  assertEquals([read.token, read.source], [text.trim(), "file"]);
});

Deno.test("ensureAdminToken() prefers KEYCAST_ADMIN_TOKEN and creates no file", async () => {
  await using dir = await tempDir();
  const envToken = "a-long-enough-admin-token";
  const ensured = await ensureAdminToken({ dataDir: dir.path, envToken });
  assertEquals([ensured.source, ensured.created, ensured.path], ["env", false, undefined]);
  assertEquals(ensured.hash, digest(envToken));
  assertEquals([...Deno.readDirSync(dir.path)], []);
  assertEquals((await readAdminToken({ dataDir: dir.path, envToken })).token, envToken);
  const padded = await ensureAdminToken({ dataDir: dir.path, envToken: ` ${envToken}\n` });
  assertEquals(padded.hash, digest(envToken));
});

Deno.test("ensureAdminToken() rejects a short or spaced KEYCAST_ADMIN_TOKEN without echoing it", async () => {
  await using dir = await tempDir();
  for (const envToken of ["short", "has a space in the token"]) {
    const err = await assertRejects(
      () => ensureAdminToken({ dataDir: dir.path, envToken }),
      AdminTokenError,
      "KEYCAST_ADMIN_TOKEN",
    );
    assertNotIncludes(err.message, envToken);
  }
});

Deno.test("admin token files readable by group or others are refused", async () => {
  await using dir = await tempDir();
  const { path } = await ensureAdminToken({ dataDir: dir.path });
  await Deno.chmod(path!, 0o640);
  await assertRejects(() => ensureAdminToken({ dataDir: dir.path }), AdminTokenError, "chmod 600");
  await assertRejects(() => readAdminToken({ dataDir: dir.path }), AdminTokenError, "mode 0640");
});

Deno.test("readAdminToken() explains a missing or empty token file", async () => {
  await using dir = await tempDir();
  const missing = await assertRejects(() => readAdminToken({ dataDir: dir.path }), AdminTokenError);
  assertStringIncludes(missing.message, "keycast serve");
  assertStringIncludes(missing.message, "KEYCAST_ADMIN_TOKEN");
  await Deno.writeTextFile(join(dir.path, "admin.token"), "", { mode: 0o600 });
  await assertRejects(() => readAdminToken({ dataDir: dir.path }), AdminTokenError, "empty");
});

Deno.test("ensureAdminToken() gives parallel first runs the same token", async () => {
  await using dir = await tempDir();
  const results = await Promise.all(
    Array.from({ length: 4 }, () => ensureAdminToken({ dataDir: dir.path })),
  );
  assertEquals(results.filter((r) => r.created).length, 1);
  for (const r of results) assertEquals(r.hash, results[0]!.hash);
});
