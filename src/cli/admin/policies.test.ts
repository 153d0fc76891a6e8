import assert from "node:assert/strict";
import { join } from "node:path";
import { EXIT } from "../io.ts";
import { policiesCommand } from "./policies.ts";
import { fakeServer, json, testContext } from "./testing.ts";

const created = (name: string, rules: unknown) => ({
  name,
  rules,
  builtin: false,
  created_at: "2025-01-31T10:00:00.000Z",
  updated_at: "2025-01-31T10:00:00.000Z",
});

Deno.test("policies add builds the rules from --allow-kinds and --methods", async () => {
  const server = fakeServer((r) => {
    const body = r.body as { name: string; rules: unknown };
    return json(created(body.name, body.rules), 201);
  });
  const ctx = testContext([
    "add",
    "notes",
    "--allow-kinds",
    "1,7",
    "--allow-kinds",
    "7,30000-39999,3",
    "--allow-dangerous-kinds",
    "3",
    "--methods",
    "sign_event,get_public_key",
  ], { fetch: server.fetch });
  assert.equal(await policiesCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.deepEqual(server.requests.map((r) => [r.method, r.path, r.body]), [
    ["POST", "/api/policies", {
      name: "notes",
      rules: {
        kinds: [1, 7, [30000, 39999], 3],
        allow_dangerous_kinds: [3],
        methods: ["sign_event", "get_public_key"],
      },
    }],
  ]);
  assert.equal(ctx.stdout(), "Added policy notes\n");
});

Deno.test("policies add starts from --rules-json or --rules-file and lets flags override", async () => {
  const server = fakeServer((r) => json(created("x", (r.body as { rules: unknown }).rules), 201));
  const fromJson = testContext([
    "add",
    "dms",
    "--rules-json",
    '{"encrypt_to_self": true, "kinds": [4]}',
    "--allow-kinds",
    "14",
  ], { fetch: server.fetch });
  assert.equal(await policiesCommand.run(fromJson), EXIT.ok, fromJson.stderr());
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "rules.json");
    await Deno.writeTextFile(path, '{"rate_limits": {"per_client": {"per_minute": 10}}}');
    const fromFile = testContext(["add", "slow", "--rules-file", path], { fetch: server.fetch });
    assert.equal(await policiesCommand.run(fromFile), EXIT.ok, fromFile.stderr());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const fromStdin = testContext(["add", "piped", "--rules-file", "-"], {
    fetch: server.fetch,
    stdin: '{"methods": ["ping"]}',
  });
  assert.equal(await policiesCommand.run(fromStdin), EXIT.ok, fromStdin.stderr());
  assert.deepEqual(server.requests.map((r) => r.body), [
    { name: "dms", rules: { encrypt_to_self: true, kinds: [14] } },
    { name: "slow", rules: { rate_limits: { per_client: { per_minute: 10 } } } },
    { name: "piped", rules: { methods: ["ping"] } },
  ]);
});

Deno.test("policies add lists every problem with the rules, exit 2", async () => {
  const server = fakeServer();
  const cases: Array<[string[], RegExp[]]> = [
    [["add", "x"], [/needs rules: --allow-kinds, --methods, --rules-json or --rules-file/]],
    [["add"], [/"policies add" needs a policy NAME/]],
    [["add", "x", "--allow-kinds", "1,one,2-x", "--allow-dangerous-kinds", "1-3"], [
      /--allow-kinds: cannot use "one,2-x": give kind numbers like 1,7 or ranges like 30000-39999/,
      /--allow-dangerous-kinds: cannot use "1-3": give kind numbers like 1,7$/m,
    ]],
    [["add", "x", "--allow-kinds", "1,3", "--methods", "sign_event,steal_key"], [
      /^Policy document: .*steal_key/m,
      /^Policy document: .*3/m,
    ]],
    [["add", "x", "--rules-json", "[1]"], [
      /--rules-json: the policy document must be a JSON object/,
    ]],
    [["add", "x", "--rules-json", "{nope"], [/--rules-json: not valid JSON/]],
    [["add", "x", "--rules-json", "{}", "--rules-file", "a"], [
      /either --rules-json or --rules-file/,
    ]],
    [["add", "x", "--rules-file", "/nonexistent/rules.json"], [
      /--rules-file: cannot read "\/nonexistent\/rules.json": NotFound/,
    ]],
  ];
  for (const [args, problems] of cases) {
    const ctx = testContext(args, { fetch: server.fetch });
    assert.equal(await policiesCommand.run(ctx), EXIT.usage, args.join(" "));
    for (const problem of problems) assert.match(ctx.stderr(), problem);
    assert.equal(ctx.stderr().trimEnd().split("\n").length, problems.length, ctx.stderr());
  }
  assert.equal(server.requests.length, 0);
});

Deno.test("policies list prints built-in and custom policies", async () => {
  const server = fakeServer(() =>
    json({
      policies: [
        {
          name: "social",
          rules: { kinds: [1, 7] },
          builtin: true,
          created_at: null,
          updated_at: null,
        },
        created("long", { methods: ["x".repeat(80)] }),
      ],
    })
  );
  const ctx = testContext(["list"], { fetch: server.fetch });
  assert.equal(await policiesCommand.run(ctx), EXIT.ok);
  const rows = ctx.stdout().trimEnd().split("\n").map((line) => line.split(/ {2,}/));
  assert.deepEqual(rows[0], ["NAME", "TYPE", "UPDATED (UTC)", "RULES"]);
  assert.deepEqual(rows[1], ["social", "built-in", "-", '{"kinds":[1,7]}']);
  assert.equal(rows[2]![3]!.length, 60);
  assert.ok(rows[2]![3]!.endsWith("…"));
});

Deno.test("policies remove deletes by name; a policy in use fails with exit 1", async () => {
  const server = fakeServer((r) =>
    r.path.endsWith("/busy")
      ? json({ error: 'Cannot delete policy "busy": authorizations still use it' }, 409)
      : new Response(null, { status: 204 })
  );
  const ok = testContext(["remove", "notes"], { fetch: server.fetch });
  assert.equal(await policiesCommand.run(ok), EXIT.ok);
  assert.equal(ok.stdout(), "Removed policy notes\n");
  const busy = testContext(["remove", "busy"], { fetch: server.fetch });
  assert.equal(await policiesCommand.run(busy), EXIT.failed);
  assert.equal(
    busy.stderr(),
    'Error: Cannot delete policy "busy": authorizations still use it (HTTP 409)\n',
  );
  assert.deepEqual(server.requests.map((r) => `${r.method} ${r.path}`), [
    "DELETE /api/policies/notes",
    "DELETE /api/policies/busy",
  ]);
});

Deno.test("policies update PUTs the rules built like add's and says how many followed", async () => {
  const server = fakeServer((r) => {
    const name = decodeURIComponent(r.path.split("/").at(-1)!);
    const rules = (r.body as { rules: unknown }).rules;
    return json({ ...created(name, rules), updated_authorizations: name === "one" ? 1 : 3 });
  });
  const ctx = testContext([
    "update",
    "notes",
    "--rules-json",
    '{"encrypt_to_self": true}',
    "--allow-kinds",
    "1,7",
    "--methods",
    "sign_event",
  ], { fetch: server.fetch });
  assert.equal(await policiesCommand.run(ctx), EXIT.ok, ctx.stderr());
  assert.deepEqual(server.requests.map((r) => [r.method, r.path, r.body]), [
    ["PUT", "/api/policies/notes", {
      rules: { encrypt_to_self: true, kinds: [1, 7], methods: ["sign_event"] },
    }],
  ]);
  assert.equal(ctx.stdout(), "Updated policy notes: 3 live authorizations updated\n");

  const one = testContext(["update", "one", "--rules-file", "-"], {
    fetch: server.fetch,
    stdin: '{"methods": ["ping"]}',
  });
  assert.equal(await policiesCommand.run(one), EXIT.ok, one.stderr());
  assert.equal(one.stdout(), "Updated policy one: 1 live authorization updated\n");
  assert.deepEqual(server.requests[1]?.body, { rules: { methods: ["ping"] } });

  const asJson = testContext(["update", "notes", "--methods", "ping", "--json"], {
    fetch: server.fetch,
  });
  assert.equal(await policiesCommand.run(asJson), EXIT.ok, asJson.stderr());
  assert.equal(JSON.parse(asJson.stdout()).updated_authorizations, 3);
});

Deno.test("policies update checks its arguments like add, exit 2; server errors exit 1", async () => {
  const server = fakeServer(() => json({ error: 'No policy named "gone"' }, 404));
  const cases: Array<[string[], RegExp]> = [
    [["update", "x"], /^"policies update" needs rules: --allow-kinds, --methods/],
    [["update"], /^"policies update" needs a policy NAME/],
    [["update", "a b", "--methods", "ping"], /^NAME: cannot use "a b"/],
    [["update", "x", "--allow-kinds", "one"], /^--allow-kinds: cannot use "one"/],
    [["update", "x", "--methods", "steal_key"], /^Policy document: .*steal_key/],
  ];
  for (const [args, problem] of cases) {
    const ctx = testContext(args, { fetch: server.fetch });
    assert.equal(await policiesCommand.run(ctx), EXIT.usage, args.join(" "));
    assert.match(ctx.stderr(), problem);
  }
  assert.equal(server.requests.length, 0);
  const gone = testContext(["update", "gone", "--methods", "ping"], { fetch: server.fetch });
  assert.equal(await policiesCommand.run(gone), EXIT.failed);
  assert.equal(gone.stderr(), 'Error: No policy named "gone" (HTTP 404)\n');
});
