import assert from "node:assert/strict";
import { EXIT } from "../io.ts";
import { keysCommand } from "./keys.ts";
import { fakeServer, json, testContext } from "./testing.ts";

const NSEC = "nsec1vl029mgpspedva04g90vltkh6fvh240zqtv9k0t9af8935ke9laqsnlfe5";
const NCRYPTSEC =
  "ncryptsec1qgg9947rlpvqu76pj5ecreduf9jxhselq2nae2kghhvd5g7dgjtcxfqtd67p9m0w57lspw8gsq6yphnm8623nsl8xn9j4jdzz84zm3frztj3z7s35vpzmqf6ksu8r89qk5z2zxfmu5gv8th8wclt0h4p";
const KEY = {
  id: "0b4b7e2e-58f1-4a5d-8f44-6a3f0a7c1e01",
  name: "alice",
  pubkey: "7e7e9c42a91bfef19fa929e5fda1b72e0ebc1a4c1141673e2794234d86addf4e",
  npub: "npub10elfcs4fr0l0r8af98jlmgdh9c8tcxjvz9qkw038js35mp4dma8qzvjptg",
  created_at: "2025-01-31T14:05:09.000Z",
};

Deno.test("keys generate posts the name and prints only the npub", async () => {
  const server = fakeServer(() => json(KEY, 201));
  const ctx = testContext(["generate", "--name", "alice"], { fetch: server.fetch });
  assert.equal(await keysCommand.run(ctx), EXIT.ok);
  assert.deepEqual(server.requests.map((r) => [r.method, r.path, r.body]), [
    ["POST", "/api/keys", { name: "alice" }],
  ]);
  assert.equal(ctx.stdout(), `${KEY.npub}\n`);
  assert.equal(ctx.stderr(), "");
});

Deno.test("keys import reads the secret from stdin, never from argv", async () => {
  const server = fakeServer(() => json(KEY, 201));
  const ctx = testContext(["import", "--name", "alice"], {
    fetch: server.fetch,
    stdin: `\n${NSEC}\n`,
  });
  assert.equal(await keysCommand.run(ctx), EXIT.ok);
  assert.equal(ctx.stdinReads(), 1);
  assert.deepEqual(server.requests[0]?.body, { name: "alice", secret: NSEC });
  assert.equal(server.requests[0]?.path, "/api/keys/import");
  assert.equal(ctx.stdout(), `${KEY.npub}\n`);

  const argv = testContext(["import", "--name", "alice", NSEC], { fetch: server.fetch });
  assert.equal(await keysCommand.run(argv), EXIT.usage);
  assert.match(argv.stderr(), /reads the secret key from standard input, never from an argument/);
  assert.ok(!argv.stderr().includes(NSEC), "the secret is not echoed");
  assert.equal(server.requests.length, 1, "nothing sent");
});

Deno.test("keys import takes an ncryptsec password from line 2, else the environment", async () => {
  const server = fakeServer(() => json(KEY, 201));
  const fromStdin = testContext(["import", "--name", "alice"], {
    fetch: server.fetch,
    stdin: `${NCRYPTSEC}\r\ncorrect horse \n`,
  });
  assert.equal(await keysCommand.run(fromStdin), EXIT.ok);
  assert.deepEqual(server.requests[0]?.body, {
    name: "alice",
    secret: NCRYPTSEC,
    password: "correct horse ",
  });

  const fromEnv = testContext(["import", "--name", "alice"], {
    fetch: server.fetch,
    stdin: `${NCRYPTSEC}\n`,
    env: { KEYCAST_ADMIN_TOKEN: "t".repeat(20), KEYCAST_IMPORT_PASSWORD: "pw" },
  });
  assert.equal(await keysCommand.run(fromEnv), EXIT.ok);
  assert.equal((server.requests[1]?.body as { password: string }).password, "pw");

  const missing = testContext(["import", "--name", "alice"], {
    fetch: server.fetch,
    stdin: NCRYPTSEC,
  });
  assert.equal(await keysCommand.run(missing), EXIT.usage);
  assert.match(missing.stderr(), /needs its password: .*second line .*KEYCAST_IMPORT_PASSWORD/);
  assert.equal(server.requests.length, 2);
});

Deno.test("keys import refuses empty stdin and several keys", async () => {
  const server = fakeServer();
  for (const stdin of ["", " \n\n", `${NSEC}\npw\n${NSEC}\n`]) {
    const ctx = testContext(["import", "--name", "alice"], { fetch: server.fetch, stdin });
    assert.equal(await keysCommand.run(ctx), EXIT.usage, JSON.stringify(stdin));
    assert.ok(!ctx.stderr().includes(NSEC));
  }
  assert.equal(server.requests.length, 0);
});

Deno.test("keys list prints a table, or JSON with --json", async () => {
  const server = fakeServer(() => json({ keys: [KEY] }));
  const ctx = testContext(["list"], { fetch: server.fetch });
  assert.equal(await keysCommand.run(ctx), EXIT.ok);
  assert.equal(server.requests[0]?.path, "/api/keys");
  assert.equal(
    ctx.stdout(),
    `NAME   ${"NPUB".padEnd(KEY.npub.length)}  CREATED (UTC)\n` +
      `alice  ${KEY.npub}  2025-01-31 14:05\n`,
  );
  const asJson = testContext(["list", "--json"], { fetch: server.fetch });
  assert.equal(await keysCommand.run(asJson), EXIT.ok);
  assert.deepEqual(JSON.parse(asJson.stdout()), [KEY]);
});

Deno.test("keys reports usage problems with exit 2 before calling the server", async () => {
  const server = fakeServer();
  const cases: Array<[string[], RegExp]> = [
    [[], /Missing action/],
    [["delete"], /Unknown action "keys delete"/],
    [["generate"], /"keys generate" needs --name NAME/],
    [["generate", "--name", "bad name!"], /--name: cannot use "bad name!"/],
    [["generate", "--name", "a", "--bogus"], /Unknown flag "--bogus"/],
    [["list", "--name", "a"], /Flag "--name" does not apply to "keys list"/],
    [["generate", "--name", "a", "--server", "ftp://x"], /--server: cannot use "ftp:\/\/x"/],
  ];
  for (const [args, problem] of cases) {
    const ctx = testContext(args, { fetch: server.fetch });
    assert.equal(await keysCommand.run(ctx), EXIT.usage, args.join(" "));
    assert.match(ctx.stderr(), problem);
    assert.equal(ctx.stdout(), "");
  }
  assert.equal(server.requests.length, 0);
});
