import assert from "node:assert/strict";
import { join } from "node:path";
import { EXIT } from "../io.ts";
import { ADMIN_COMMANDS } from "./commands.ts";
import { keysCommand } from "./keys.ts";
import { fakeServer, json, TEST_TOKEN, testContext } from "./testing.ts";

const NO_KEYS = () => json({ keys: [] });

Deno.test("a subcommand reads the admin token from <data-dir>/admin.token", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const token = "file-token-0123456789abcdefghij";
    await Deno.writeTextFile(join(dir, "admin.token"), `${token}\n`, { mode: 0o600 });
    await Deno.chmod(join(dir, "admin.token"), 0o600);
    const server = fakeServer(NO_KEYS);
    const byFlag = testContext(["list", "--data-dir", dir], { fetch: server.fetch, env: {} });
    assert.equal(await keysCommand.run(byFlag), EXIT.ok, byFlag.stderr());
    const byEnv = testContext(["list"], { fetch: server.fetch, env: { KEYCAST_DATA_DIR: dir } });
    assert.equal(await keysCommand.run(byEnv), EXIT.ok, byEnv.stderr());
    const envWins = testContext(["list", "--data-dir", dir], {
      fetch: server.fetch,
      env: { KEYCAST_ADMIN_TOKEN: TEST_TOKEN },
    });
    assert.equal(await keysCommand.run(envWins), EXIT.ok);
    assert.deepEqual(server.requests.map((r) => r.headers.get("authorization")), [
      `Bearer ${token}`,
      `Bearer ${token}`,
      `Bearer ${TEST_TOKEN}`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a subcommand without a token file says where it looked, exit 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const server = fakeServer(NO_KEYS);
    const ctx = testContext(["list", "--data-dir", dir], { fetch: server.fetch, env: {} });
    assert.equal(await keysCommand.run(ctx), EXIT.failed);
    assert.match(
      ctx.stderr(),
      /^Error: Cannot open admin token file ".*admin\.token".*keycast serve/,
    );
    assert.equal(server.requests.length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a subcommand talks to --server, else KEYCAST_SERVER, else 127.0.0.1:8080", async () => {
  const server = fakeServer(NO_KEYS);
  const run = async (args: string[], env: Record<string, string>) => {
    const ctx = testContext(args, {
      fetch: server.fetch,
      env: { KEYCAST_ADMIN_TOKEN: TEST_TOKEN, ...env },
    });
    assert.equal(await keysCommand.run(ctx), EXIT.ok);
  };
  await run(["list"], {});
  await run(["list"], { KEYCAST_SERVER: "https://signer.example/" });
  await run(["list", "--server", "http://10.0.0.2:9000"], { KEYCAST_SERVER: "https://x.example" });
  assert.deepEqual(server.requests.map((r) => r.url), [
    "http://127.0.0.1:8080/api/keys",
    "https://signer.example/api/keys",
    "http://10.0.0.2:9000/api/keys",
  ]);
});

Deno.test("a server error is one line with its status, exit 1", async () => {
  const server = fakeServer(() =>
    json({ error: 'Cannot store key "alice": a key with that name exists' }, 409)
  );
  const ctx = testContext(["generate", "--name", "alice"], { fetch: server.fetch });
  assert.equal(await keysCommand.run(ctx), EXIT.failed);
  assert.equal(
    ctx.stderr(),
    'Error: Cannot store key "alice": a key with that name exists (HTTP 409)\n',
  );
  assert.equal(ctx.stdout(), "");
});

Deno.test("a refused token gets a hint about where tokens come from", async () => {
  const server = fakeServer(() => json({ error: "Unauthorized" }, 401));
  const ctx = testContext(["list"], { fetch: server.fetch });
  assert.equal(await keysCommand.run(ctx), EXIT.failed);
  const lines = ctx.stderr().split("\n");
  assert.equal(lines[0], "Error: Unauthorized (HTTP 401)");
  assert.match(lines[1]!, /KEYCAST_ADMIN_TOKEN/);
  assert.ok(!ctx.stderr().includes(TEST_TOKEN));
});

Deno.test("an unreachable server is reported in one line, exit 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const ctx = testContext(["list", "--server", `http://127.0.0.1:${port}`], { fetch });
  assert.equal(await keysCommand.run(ctx), EXIT.failed);
  assert.match(
    ctx.stderr(),
    new RegExp(
      `^Error: Cannot reach keycast at http://127\\.0\\.0\\.1:${port}: is \`keycast serve\` running\\?`,
    ),
  );
  assert.equal(ctx.stderr().split("\n").length, 2, "one line");
});

Deno.test("every admin subcommand prints usage and flags for --help", async () => {
  assert.deepEqual(ADMIN_COMMANDS.map((c) => c.name), [
    "keys",
    "authorize",
    "authorizations",
    "policies",
    "connect",
    "audit",
  ]);
  for (const command of ADMIN_COMMANDS) {
    const server = fakeServer();
    const ctx = testContext(["--help"], { fetch: server.fetch });
    assert.equal(await command.run(ctx), EXIT.ok);
    assert.ok(ctx.stdout().startsWith(`${command.summary}\n\nUsage: keycast ${command.name}`));
    assert.match(ctx.stdout(), /--server URL +Address of the running keycast/);
    assert.match(ctx.stdout(), /--data-dir DIR/);
    assert.equal(server.requests.length, 0);
  }
});
