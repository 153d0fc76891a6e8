import assert from "node:assert/strict";
import { EXIT } from "../io.ts";
import { runCli } from "../run.ts";
import { oauthCommand } from "./oauth.ts";
import { fakeServer, json, type RecordedRequest, testContext } from "./testing.ts";

const NOTES = {
  client_id: "notes-app",
  name: "Notes",
  redirect_uris: ["com.example.notes:/cb", "https://notes.example/cb"],
  policy: "read-only",
  created_at: "2025-01-31T14:05:09.000Z",
};
const CHAT = {
  client_id: "https://chat.example/client",
  name: "Chat",
  redirect_uris: ["https://chat.example/cb"],
  policy: null,
  created_at: "2025-02-01T08:00:00.000Z",
};

/** A fake admin API for OAuth clients. */
function clientsServer(): ReturnType<typeof fakeServer> {
  return fakeServer((request: RecordedRequest) => {
    const { method, path } = request;
    if (method === "GET" && path === "/api/oauth-clients") return json({ clients: [NOTES, CHAT] });
    if (method === "POST" && path === "/api/oauth-clients") {
      const body = request.body as Record<string, unknown>;
      return json({ policy: null, ...body, created_at: NOTES.created_at }, 201);
    }
    if (method === "DELETE" && path === "/api/oauth-clients/gone") {
      return json({ error: 'No registered OAuth client "gone"', field: "client_id" }, 404);
    }
    if (method === "DELETE" && path.startsWith("/api/oauth-clients/")) {
      return json({ deleted: true });
    }
    return json({ error: `No route ${method} ${path}` }, 404);
  });
}

Deno.test("oauth clients add posts the client with every --redirect-uri, once each", async () => {
  const server = clientsServer();
  const ctx = testContext([
    "clients",
    "add",
    " notes-app ",
    "--name",
    " Notes ",
    "--redirect-uri",
    "com.example.notes:/cb",
    "--redirect-uri",
    "https://notes.example/cb,com.example.notes:/cb",
    "--policy",
    "read-only",
  ], { fetch: server.fetch });
  assert.equal(await oauthCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.deepEqual(server.requests.map((r) => [r.method, r.path, r.body]), [
    ["POST", "/api/oauth-clients", {
      client_id: "notes-app",
      name: "Notes",
      redirect_uris: ["com.example.notes:/cb", "https://notes.example/cb"],
      policy: "read-only",
    }],
  ]);
  assert.equal(
    ctx.stdout(),
    "Registered OAuth client notes-app: 2 redirect URIs, policy read-only\n",
  );

  const plain = testContext([
    "clients",
    "add",
    "https://chat.example/client",
    "--name",
    "Chat",
    "--redirect-uri",
    "https://chat.example/cb",
    "--json",
  ], { fetch: server.fetch });
  assert.equal(await oauthCommand.run(plain), EXIT.ok, plain.stderr());
  assert.deepEqual(server.requests[1]?.body, {
    client_id: "https://chat.example/client",
    name: "Chat",
    redirect_uris: ["https://chat.example/cb"],
  }, "no policy: the server's default");
  assert.deepEqual(JSON.parse(plain.stdout()), { ...CHAT, created_at: NOTES.created_at });
});

Deno.test("oauth clients add says when the server's default policy applies", async () => {
  const server = clientsServer();
  const ctx = testContext(
    ["clients", "add", "x", "--name", "X", "--redirect-uri", "https://x.example/cb"],
    { fetch: server.fetch },
  );
  assert.equal(await oauthCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.equal(
    ctx.stdout(),
    "Registered OAuth client x: 1 redirect URI, the server's default policy\n",
  );
});

Deno.test("oauth clients list prints a table, or JSON with --json", async () => {
  const server = clientsServer();
  const ctx = testContext(["clients", "list"], { fetch: server.fetch });
  assert.equal(await oauthCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.equal(server.requests[0]?.path, "/api/oauth-clients");
  assert.equal(
    ctx.stdout(),
    "CLIENT ID                    NAME   POLICY     CREATED (UTC)     REDIRECT URIS\n" +
      "notes-app                    Notes  read-only  2025-01-31 14:05  " +
      "com.example.notes:/cb https://notes.example/cb\n" +
      "https://chat.example/client  Chat   -          2025-02-01 08:00  https://chat.example/cb\n",
  );
  const asJson = testContext(["clients", "list", "--json"], { fetch: server.fetch });
  assert.equal(await oauthCommand.run(asJson), EXIT.ok);
  assert.deepEqual(JSON.parse(asJson.stdout()), [NOTES, CHAT]);
});

Deno.test("oauth clients list says what to do when there are none", async () => {
  const server = fakeServer(() => json({ clients: [] }));
  const ctx = testContext(["clients", "list"], { fetch: server.fetch });
  assert.equal(await oauthCommand.run(ctx), EXIT.ok);
  assert.equal(ctx.stdout(), "");
  assert.match(ctx.stderr(), /^No OAuth clients registered: add one with keycast oauth clients/);
});

Deno.test("oauth clients list shows control and bidi characters from the server as ?", async () => {
  const hostile = { ...CHAT, name: "Chat\u202e\u001b[2J" };
  const server = fakeServer(() => json({ clients: [hostile] }));
  const ctx = testContext(["clients", "list"], { fetch: server.fetch });
  assert.equal(await oauthCommand.run(ctx), EXIT.ok);
  assert.match(ctx.stdout(), /Chat\?\?\[2J/);
  assert.ok(!ctx.stdout().includes("\u001b") && !ctx.stdout().includes("\u202e"));
});

Deno.test("oauth clients remove deletes by client id; an unknown one fails with exit 1", async () => {
  const server = clientsServer();
  const ok = testContext(["clients", "remove", "https://chat.example/client"], {
    fetch: server.fetch,
  });
  assert.equal(await oauthCommand.run(ok), EXIT.ok, ok.stderr());
  assert.equal(
    ok.stdout(),
    "Removed OAuth client https://chat.example/client: " +
      "the grants people already gave it stay until revoked\n",
  );
  const gone = testContext(["clients", "remove", "gone"], { fetch: server.fetch });
  assert.equal(await oauthCommand.run(gone), EXIT.failed);
  assert.equal(gone.stderr(), 'Error: No registered OAuth client "gone" (HTTP 404)\n');
  assert.deepEqual(server.requests.map((r) => `${r.method} ${r.path}`), [
    "DELETE /api/oauth-clients/https%3A%2F%2Fchat.example%2Fclient",
    "DELETE /api/oauth-clients/gone",
  ]);
});

Deno.test("oauth clients add lists every problem with its arguments, exit 2", async () => {
  const server = clientsServer();
  const add = (...args: string[]) => ["clients", "add", ...args];
  const uri = "https://x.example/cb";
  const cases: Array<[string[], RegExp[]]> = [
    [add(), [
      /^"oauth clients add" needs a CLIENT_ID$/m,
      /^"oauth clients add" needs --name NAME$/m,
      /^"oauth clients add" needs --redirect-uri URI$/m,
    ]],
    [add("a b", "--name", "X", "--redirect-uri", uri), [
      /^CLIENT_ID: cannot use "a b": use 1 to 200 printable ASCII characters without spaces$/m,
    ]],
    [add("x".repeat(201), "--name", "X", "--redirect-uri", uri), [/^CLIENT_ID: cannot use/m]],
    [add("x", "--name", " ", "--redirect-uri", uri), [
      /^--name: cannot use " ": use 1 to 100 characters, no control characters$/m,
    ]],
    [add("x", "--name", "a\u001bb", "--redirect-uri", uri), [/^--name: cannot use "a\?b"/m]],
    [add("x", "--name", "X", "--redirect-uri", "https://x.example/cb?list=1,2"), [
      /^--redirect-uri: cannot use "2": it is not a URL \(commas separate URIs\)$/m,
    ]],
    [add("x", "--name", "X", "--redirect-uri", "https://x.example/cb#top"), [
      /^--redirect-uri: cannot use "https:\/\/x.example\/cb#top": .*must not have a fragment$/m,
    ]],
    [add("x", "--name", "X", "--redirect-uri", "https://u:p@x.example/cb"), [
      /must not carry credentials$/m,
    ]],
    [
      add(
        "x",
        "--name",
        "X",
        "--redirect-uri",
        "JavaScript:alert(1)",
        "--redirect-uri",
        "file:///etc/cb",
      ),
      [
        /^--redirect-uri: cannot use "JavaScript:alert\(1\)": javascript: URIs cannot receive codes$/m,
        /^--redirect-uri: cannot use "file:\/\/\/etc\/cb": file: URIs cannot receive codes$/m,
      ],
    ],
    [add("x", "--name", "X", "--redirect-uri", `https://x.example/${"a".repeat(2_000)}`), [
      /^--redirect-uri: cannot use ".*": it is longer than 2000 characters$/m,
    ]],
    [
      add(
        "x",
        "--name",
        "X",
        "--redirect-uri",
        Array.from({ length: 21 }, (_, i) => `https://x.example/${i}`).join(","),
      ),
      [/^--redirect-uri: 21 URIs given, the limit is 20$/m],
    ],
    [add("x", "--name", "X", "--redirect-uri", uri, "--policy", "a b"), [
      /^--policy: cannot use "a b"/m,
    ]],
    [add("x", "y", "--name", "X", "--redirect-uri", uri), [/^Unexpected argument "y"$/m]],
  ];
  for (const [args, problems] of cases) {
    const ctx = testContext(args, { fetch: server.fetch });
    assert.equal(await oauthCommand.run(ctx), EXIT.usage, args.join(" "));
    for (const problem of problems) assert.match(ctx.stderr(), problem, args.join(" "));
    assert.equal(ctx.stderr().trimEnd().split("\n").length, problems.length, ctx.stderr());
    assert.equal(ctx.stdout(), "");
  }
  assert.equal(server.requests.length, 0);
});

Deno.test("oauth reports unknown actions and misplaced flags with exit 2", async () => {
  const server = clientsServer();
  const cases: Array<[string[], RegExp]> = [
    [[], /^Missing action: use "oauth clients add CLIENT_ID", "oauth clients list" or/],
    [["clients"], /^Missing action: use "oauth clients add CLIENT_ID"/],
    [["grants", "list"], /^Unknown action "oauth grants": use clients add, clients list or/],
    [["clients", "delete", "x"], /^Unknown action "oauth clients delete": use add, list or remove/],
    [["clients", "list", "--name", "X"], /^Flag "--name" does not apply to "oauth clients list"/],
    [["clients", "list", "extra"], /^Unexpected argument "extra"/],
    [["clients", "remove"], /^"oauth clients remove" needs a CLIENT_ID\n$/],
    [["clients", "remove", "a", "b"], /^Unexpected argument "b"/],
    [["clients", "remove", "a b"], /^CLIENT_ID: cannot use "a b"/],
    [["clients", "remove", "x", "--json"], /does not apply to "oauth clients remove"/],
  ];
  for (const [args, problem] of cases) {
    const ctx = testContext(args, { fetch: server.fetch });
    assert.equal(await oauthCommand.run(ctx), EXIT.usage, args.join(" "));
    assert.match(ctx.stderr(), problem, args.join(" "));
  }
  assert.equal(server.requests.length, 0);
});

Deno.test("keycast help lists oauth, and oauth --help explains the redirect URI rules", async () => {
  const noServe = () => Promise.reject(new Error("serve must not run"));
  const overview = testContext(["help"]);
  assert.equal(await runCli(overview, noServe), EXIT.ok);
  assert.match(overview.stdout(), /^ {2}oauth +Register, list and remove OAuth clients/m);
  const help = testContext(["oauth", "clients", "add", "--help"]);
  assert.equal(await runCli(help, noServe), EXIT.ok);
  assert.match(help.stdout(), /^Usage: keycast oauth clients add CLIENT_ID --name NAME/m);
  assert.match(help.stdout(), /keycast oauth clients remove CLIENT_ID/);
  assert.match(help.stdout(), /--redirect-uri URI +Where the app receives its codes/);
  assert.match(help.stdout(), /replaces its name, URIs and policy/);
});
