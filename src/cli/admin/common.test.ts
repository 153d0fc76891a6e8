import assert from "node:assert/strict";
import { join } from "node:path";
import { EXIT } from "../io.ts";
import { ADMIN_COMMANDS } from "./commands.ts";
import { defaultServerUrl } from "./common.ts";
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
    "accounts",
    "oauth",
    "instances",
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

Deno.test("without KEYCAST_SERVER the default server follows PORT and KEYCAST_HOST", async () => {
  const server = fakeServer(NO_KEYS);
  const run = async (env: Record<string, string>, args: string[] = []) => {
    const ctx = testContext(["list", ...args], {
      fetch: server.fetch,
      env: { KEYCAST_ADMIN_TOKEN: TEST_TOKEN, ...env },
    });
    assert.equal(await keysCommand.run(ctx), EXIT.ok, ctx.stderr());
  };
  await run({ PORT: "9000" });
  await run({ PORT: "9000", KEYCAST_HOST: "0.0.0.0" });
  await run({ KEYCAST_HOST: "10.0.0.5" });
  await run({ KEYCAST_HOST: "::", PORT: "9001" });
  await run({ PORT: "9000", KEYCAST_SERVER: "https://signer.example" });
  await run({ PORT: "9000" }, ["--server", "http://10.0.0.2:7000"]);
  assert.deepEqual(server.requests.map((r) => r.url), [
    "http://127.0.0.1:9000/api/keys",
    "http://127.0.0.1:9000/api/keys",
    "http://10.0.0.5:8080/api/keys",
    "http://[::1]:9001/api/keys",
    "https://signer.example/api/keys",
    "http://10.0.0.2:7000/api/keys",
  ]);
});

Deno.test("defaultServerUrl() connects to loopback for wildcard hosts and brackets IPv6", () => {
  const url = (env: Record<string, string>) => defaultServerUrl(new Map(Object.entries(env)));
  assert.deepEqual(url({}), { ok: true, url: "http://127.0.0.1:8080" });
  assert.deepEqual(url({ PORT: " 9000 ", KEYCAST_HOST: "" }), {
    ok: true,
    url: "http://127.0.0.1:9000",
  });
  assert.deepEqual(url({ KEYCAST_HOST: "0.0.0.0" }), { ok: true, url: "http://127.0.0.1:8080" });
  for (const host of ["::", "[::]", "0:0:0:0:0:0:0:0"]) {
    assert.deepEqual(url({ KEYCAST_HOST: host }), { ok: true, url: "http://[::1]:8080" }, host);
  }
  assert.deepEqual(url({ KEYCAST_HOST: "::1" }), { ok: true, url: "http://[::1]:8080" });
  assert.deepEqual(url({ KEYCAST_HOST: "[fd00::2]", PORT: "80" }), {
    ok: true,
    url: "http://[fd00::2]:80",
  });
  assert.deepEqual(url({ KEYCAST_HOST: "localhost" }), { ok: true, url: "http://localhost:8080" });
});

Deno.test("a PORT the CLI cannot use for the default server is a usage error, exit 2", async () => {
  for (const port of ["abc", "70000", "0"]) {
    const server = fakeServer(NO_KEYS);
    const ctx = testContext(["list"], {
      fetch: server.fetch,
      env: { KEYCAST_ADMIN_TOKEN: TEST_TOKEN, PORT: port },
    });
    assert.equal(await keysCommand.run(ctx), EXIT.usage, port);
    const lines = ctx.stderr().trimEnd().split("\n");
    assert.equal(lines.length, 1, ctx.stderr());
    assert.match(lines[0]!, /^PORT.*--server or KEYCAST_SERVER$/);
    assert.equal(server.requests.length, 0);
    // With an explicit server, PORT is not the CLI's business.
    const explicit = testContext(["list", "--server", "http://127.0.0.1:8080"], {
      fetch: server.fetch,
      env: { KEYCAST_ADMIN_TOKEN: TEST_TOKEN, PORT: port },
    });
    assert.equal(await keysCommand.run(explicit), EXIT.ok, explicit.stderr());
  }
});

Deno.test("a redirect from the server is an error naming it, exit 1, and is not followed", async () => {
  const server = fakeServer((r) =>
    r.url.startsWith("http://127.0.0.1:8080/")
      ? new Response(null, { status: 307, headers: { location: "http://elsewhere.test/api/keys" } })
      : json({ id: "k", name: "alice", pubkey: "ab", npub: "npub1x", created_at: "t" })
  );
  const ctx = testContext(["generate", "--name", "alice"], { fetch: server.fetch });
  assert.equal(await keysCommand.run(ctx), EXIT.failed);
  assert.equal(
    ctx.stderr(),
    "Error: keycast at http://127.0.0.1:8080 answered with a redirect to " +
      "http://elsewhere.test/api/keys; keycast does not follow redirects: set --server or " +
      "KEYCAST_SERVER to the address that answers directly (HTTP 307)\n",
  );
  assert.deepEqual(server.requests.map((r) => r.url), ["http://127.0.0.1:8080/api/keys"]);
  assert.equal(ctx.stdout(), "");
});
