import assert from "node:assert/strict";
import { EXIT } from "../io.ts";
import { runCli } from "../run.ts";
import { accountsCommand, MAX_INVITE_SECONDS, parseInviteExpiry } from "./accounts.ts";
import { fakeServer, json, type RecordedRequest, testContext } from "./testing.ts";

const PASSWORD = "violet-kettle-harbor-92";
const ALICE = {
  id: "4f0c9a52-8f1e-4d5e-9d7c-2a4e1c3b5d6f",
  username: "alice",
  email: "alice@example.org",
  role: "admin",
  disabled: false,
  key_count: 1,
  created_at: "2025-01-31T14:05:09.000Z",
};
const BOB = { ...ALICE, id: crypto.randomUUID(), username: "bob", email: null, role: "user" };
const INVITE = {
  id: "9b2d1c7e-3a4f-4e6b-8c5d-1f2a3b4c5d6e",
  role: "user",
  created_at: "2025-01-31T14:05:09.000Z",
  expires_at: "2025-02-07T14:05:09.000Z",
  used_at: null,
  used_by: null,
  code: "Zx3kQ9vB2mN7pL4wR8tY1a",
};

/** A fake admin API for accounts and invites. */
function accountsServer(): ReturnType<typeof fakeServer> {
  return fakeServer((request: RecordedRequest) => {
    const { method, path } = request;
    if (method === "GET" && path === "/api/accounts") return json({ accounts: [ALICE, BOB] });
    if (method === "POST" && path === "/api/accounts") {
      const body = request.body as { username: string; role: string; email?: string };
      return json({ ...ALICE, ...body, email: body.email ?? null }, 201);
    }
    if (method === "GET" && path === `/api/accounts/${ALICE.username}`) return json(ALICE);
    const action = /^\/api\/accounts\/([^/]+)\/(disable|enable)$/.exec(path);
    if (method === "POST" && action) {
      return json({ id: ALICE.id, username: "alice", disabled: action[2] === "disable" });
    }
    if (method === "POST" && path === `/api/accounts/${ALICE.id}/password`) {
      return json({ ok: true, ended_sessions: 2 });
    }
    if (method === "POST" && path === "/api/invites") {
      return json({ ...INVITE, role: (request.body as { role: string }).role }, 201);
    }
    return json({ error: `No route ${method} ${path}` }, 404);
  });
}

Deno.test("accounts create sends the password from the first line of stdin, never argv", async () => {
  const server = accountsServer();
  const ctx = testContext(["create", "Alice", "--admin", "--email", "Alice@Example.org"], {
    fetch: server.fetch,
    stdin: `${PASSWORD}\r\nignored second line\n`,
  });
  assert.equal(await accountsCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.equal(ctx.stdinReads(), 1);
  assert.deepEqual(server.requests.map((r) => [r.method, r.path, r.body]), [
    ["POST", "/api/accounts", {
      username: "alice",
      email: "alice@example.org",
      password: PASSWORD,
      role: "admin",
    }],
  ]);
  assert.equal(ctx.stdout(), "Created admin account alice\n");
  assert.ok(!ctx.stdout().includes(PASSWORD) && !ctx.stderr().includes(PASSWORD));

  const user = testContext(["create", "bob", "--json"], {
    fetch: server.fetch,
    stdin: PASSWORD,
  });
  assert.equal(await accountsCommand.run(user), EXIT.ok, user.stderr());
  assert.deepEqual(server.requests[1]?.body, { username: "bob", password: PASSWORD, role: "user" });
  assert.equal(JSON.parse(user.stdout()).username, "bob");
});

Deno.test("accounts create refuses a password given as an argument without echoing it", async () => {
  const server = accountsServer();
  const ctx = testContext(["create", "alice", PASSWORD], { fetch: server.fetch, stdin: PASSWORD });
  assert.equal(await accountsCommand.run(ctx), EXIT.usage);
  assert.match(ctx.stderr(), /takes one NAME: the password is read from standard input/);
  assert.ok(!ctx.stderr().includes(PASSWORD), "the password is not echoed");
  const flag = testContext(["create", "alice", `--password=${PASSWORD}`], { fetch: server.fetch });
  assert.equal(await accountsCommand.run(flag), EXIT.usage);
  assert.match(flag.stderr(), /Unknown flag "--password"/);
  assert.ok(!flag.stderr().includes(PASSWORD));
  assert.equal(server.requests.length, 0);
});

Deno.test("accounts create checks the password like the server, before sending it", async () => {
  const server = accountsServer();
  const cases: Array<[string, RegExp]> = [
    ["", /^No password on standard input/],
    ["\nsecond line is not read\n", /^No password on standard input/],
    ["short\n", /^Password: Use at least 12 characters \(this one has 5\)\n$/],
    ["alice-and-her-cat\n", /^Password: Do not use your username/],
    ["Password2024!\n", /^Password: This password is among the first ones attackers try/],
  ];
  for (const [stdin, problem] of cases) {
    const ctx = testContext(["create", "alice"], { fetch: server.fetch, stdin });
    assert.equal(await accountsCommand.run(ctx), EXIT.usage, JSON.stringify(stdin));
    assert.match(ctx.stderr(), problem);
  }
  assert.equal(server.requests.length, 0);
});

Deno.test("accounts create asks twice without echo when stdin is a terminal", async () => {
  const server = accountsServer();
  const ctx = testContext(["create", "alice"], {
    fetch: server.fetch,
    typed: [PASSWORD, PASSWORD],
  });
  assert.equal(await accountsCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.deepEqual(ctx.prompts(), ["New password for alice: ", "Type it again: "]);
  assert.equal(ctx.stdinReads(), 0);
  assert.equal((server.requests[0]?.body as { password: string }).password, PASSWORD);

  const cases: Array<[Array<string | undefined>, number, RegExp]> = [
    [[PASSWORD, `${PASSWORD}x`], EXIT.usage, /^The two passwords differ: nothing was changed\n$/],
    [[undefined], EXIT.failed, /^Error: Cancelled: no password was given\n$/],
    [[PASSWORD, undefined], EXIT.failed, /^Error: Cancelled/],
    [["short"], EXIT.usage, /^Password: Use at least 12 characters/],
  ];
  for (const [typed, code, problem] of cases) {
    const bad = testContext(["create", "alice"], { fetch: server.fetch, typed });
    assert.equal(await accountsCommand.run(bad), code, JSON.stringify(typed));
    assert.match(bad.stderr(), problem);
  }
  assert.equal(server.requests.length, 1);
});

Deno.test("accounts list prints a table, or JSON with --json", async () => {
  const server = accountsServer();
  const ctx = testContext(["list"], { fetch: server.fetch });
  assert.equal(await accountsCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.equal(server.requests[0]?.path, "/api/accounts");
  assert.equal(
    ctx.stdout(),
    "USERNAME  ROLE   STATUS  KEYS  EMAIL              CREATED (UTC)\n" +
      "alice     admin  active  1     alice@example.org  2025-01-31 14:05\n" +
      "bob       user   active  1     -                  2025-01-31 14:05\n",
  );
  const asJson = testContext(["list", "--json"], { fetch: server.fetch });
  assert.equal(await accountsCommand.run(asJson), EXIT.ok);
  assert.deepEqual(JSON.parse(asJson.stdout()), [ALICE, BOB]);
});

Deno.test("accounts list shows control and bidi characters from the server as ?", async () => {
  const hostile = { ...BOB, email: "x\u202e@evil.example\u001b[2J" };
  const server = fakeServer(() => json({ accounts: [hostile] }));
  const ctx = testContext(["list"], { fetch: server.fetch });
  assert.equal(await accountsCommand.run(ctx), EXIT.ok);
  assert.match(ctx.stdout(), /x\?@evil\.example\?\[2J/);
  assert.ok(!ctx.stdout().includes("\u001b") && !ctx.stdout().includes("\u202e"));
});

Deno.test("accounts disable and enable post to the account, by username, email or id", async () => {
  const server = accountsServer();
  const disabled = testContext(["disable", "alice"], { fetch: server.fetch });
  assert.equal(await accountsCommand.run(disabled), EXIT.ok, disabled.stderr());
  assert.equal(
    disabled.stdout(),
    "Disabled account alice: its sessions ended and its keys stopped answering\n",
  );
  const enabled = testContext(["enable", "alice@example.org"], { fetch: server.fetch });
  assert.equal(await accountsCommand.run(enabled), EXIT.ok, enabled.stderr());
  assert.equal(enabled.stdout(), "Enabled account alice: its keys answer again\n");
  const byId = testContext(["enable", ALICE.id], { fetch: server.fetch });
  assert.equal(await accountsCommand.run(byId), EXIT.ok, byId.stderr());
  assert.deepEqual(server.requests.map((r) => [r.method, r.path, r.body]), [
    ["POST", "/api/accounts/alice/disable", undefined],
    ["POST", "/api/accounts/alice%40example.org/enable", undefined],
    ["POST", `/api/accounts/${ALICE.id}/enable`, undefined],
  ]);
});

Deno.test("accounts reset-password looks the account up, then sends the password from stdin", async () => {
  const server = accountsServer();
  const ctx = testContext(["reset-password", "alice"], {
    fetch: server.fetch,
    stdin: `${PASSWORD}\n`,
  });
  assert.equal(await accountsCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.deepEqual(server.requests.map((r) => [r.method, r.path, r.body]), [
    ["GET", "/api/accounts/alice", undefined],
    ["POST", `/api/accounts/${ALICE.id}/password`, { password: PASSWORD }],
  ]);
  assert.equal(ctx.stdout(), "Set a new password for alice: 2 sessions ended\n");

  const unknown = testContext(["reset-password", "carol"], {
    fetch: server.fetch,
    typed: [PASSWORD, PASSWORD],
  });
  assert.equal(await accountsCommand.run(unknown), EXIT.failed);
  assert.match(unknown.stderr(), /^Error: No route GET \/api\/accounts\/carol \(HTTP 404\)\n$/);
  assert.deepEqual(unknown.prompts(), [], "no password asked for a missing account");

  const argv = testContext(["reset-password", "alice", PASSWORD], { fetch: server.fetch });
  assert.equal(await accountsCommand.run(argv), EXIT.usage);
  assert.ok(!argv.stderr().includes(PASSWORD));
  assert.equal(server.requests.length, 3);
});

Deno.test("accounts invite prints only the code on stdout, details on stderr", async () => {
  const server = accountsServer();
  const ctx = testContext(["invite", "--admin", "--expires", "2w"], { fetch: server.fetch });
  assert.equal(await accountsCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.deepEqual(server.requests[0]?.body, { role: "admin", expires_in: 14 * 86_400 });
  assert.equal(ctx.stdout(), `${INVITE.code}\n`);
  assert.equal(
    ctx.stderr(),
    `Invite ${INVITE.id}: role admin, open until 2025-02-07 14:05 UTC.\n` +
      "The code above is shown only this once: give it to the person it is for.\n",
  );
  assert.ok(!ctx.stderr().includes(INVITE.code));

  const plain = testContext(["invite", "--json"], { fetch: server.fetch });
  assert.equal(await accountsCommand.run(plain), EXIT.ok, plain.stderr());
  assert.deepEqual(server.requests[1]?.body, { role: "user" }, "the server's default expiry");
  assert.equal(JSON.parse(plain.stdout()).code, INVITE.code);
});

Deno.test("parseInviteExpiry() takes 1 minute to 90 days", () => {
  assert.equal(parseInviteExpiry("1m"), 60);
  assert.equal(parseInviteExpiry("7d"), 7 * 86_400);
  assert.equal(parseInviteExpiry("90d"), MAX_INVITE_SECONDS);
  for (const value of ["59", "91d", "soon", ""]) {
    assert.throws(() => parseInviteExpiry(value), /--expires: cannot use/, value);
  }
});

Deno.test("accounts reports usage problems with exit 2 before calling the server", async () => {
  const server = accountsServer();
  const cases: Array<[string[], RegExp]> = [
    [[], /^Missing action: use "accounts create NAME"/],
    [["delete", "alice"], /^Unknown action "accounts delete"/],
    [["create"], /^"accounts create" needs an account NAME\n$/],
    [["create", "al"], /^NAME: cannot use "al": use 3 to 32 letters/],
    [["create", "alice", "--email", "not-an-email"], /^--email: cannot use "not-an-email"/],
    [["create", "-x-", "--email", "nope"], /^NAME: cannot use "-x-".*\n--email: cannot use/],
    [["list", "--admin"], /^Flag "--admin" does not apply to "accounts list"/],
    [["list", "extra"], /^Unexpected argument "extra"/],
    [["disable"], /^"accounts disable" needs an account NAME/],
    [["enable", "a b"], /^NAME: cannot use "a b": give an account's username, email or id/],
    [["disable", "alice", "bob"], /^Unexpected argument "bob"/],
    [["invite", "--expires", "100d"], /^--expires: cannot use "100d": an invite stays open/],
    [["invite", "--expires", "soon"], /^--expires: cannot use "soon": give a duration/],
    [["invite", "--email", "a@b.example"], /^Flag "--email" does not apply to "accounts invite"/],
    [["reset-password", "alice", "--admin"], /does not apply to "accounts reset-password"/],
  ];
  for (const [args, problem] of cases) {
    const ctx = testContext(args, { fetch: server.fetch, stdin: `${PASSWORD}\n` });
    assert.equal(await accountsCommand.run(ctx), EXIT.usage, args.join(" "));
    assert.match(ctx.stderr(), problem, args.join(" "));
    assert.equal(ctx.stdout(), "");
    assert.equal(ctx.stdinReads(), 0, "stdin is not read for a usage problem");
  }
  assert.equal(server.requests.length, 0);
});

Deno.test("keycast help lists accounts, and accounts --help explains where passwords come from", async () => {
  const noServe = () => Promise.reject(new Error("serve must not run"));
  const overview = testContext(["help"]);
  assert.equal(await runCli(overview, noServe), EXIT.ok);
  assert.match(overview.stdout(), /^ {2}accounts +Create, list, disable and enable accounts/m);
  const help = testContext(["accounts", "--help"]);
  assert.equal(await runCli(help, noServe), EXIT.ok);
  assert.match(help.stdout(), /^Usage: keycast accounts create NAME \[--admin\]/m);
  assert.match(help.stdout(), /keycast accounts invite \[--admin\] \[--expires 7d\]/);
  assert.match(help.stdout(), /Passwords are never arguments/);
});
