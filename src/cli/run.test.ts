import assert from "node:assert/strict";
import { DEFAULT_RELAYS } from "../config/config.ts";
import { testContext } from "./admin/testing.ts";
import { EXIT } from "./io.ts";
import { runCli } from "./run.ts";

const NO_SERVE = () => Promise.reject(new Error("serve must not run for --help"));

Deno.test("serve --help names the default relays and the loopback default host", async () => {
  for (const args of [["serve", "--help"], ["help", "serve"]]) {
    const ctx = testContext(args);
    assert.equal(await runCli(ctx, NO_SERVE), EXIT.ok);
    const relayLine = ctx.stdout().split("\n").find((line) => line.startsWith("  --relay URL"));
    assert.ok(relayLine, ctx.stdout());
    assert.ok(DEFAULT_RELAYS.length > 0);
    for (const relay of DEFAULT_RELAYS) assert.ok(relayLine.includes(relay), relayLine);
    assert.match(ctx.stdout(), /--host ADDR +HTTP bind address\. Default 127\.0\.0\.1 \(loopback/);
  }
});

Deno.test("a management command's help shows its notes through keycast", async () => {
  const ctx = testContext(["connect", "--help"]);
  assert.equal(await runCli(ctx, NO_SERVE), EXIT.ok);
  assert.match(ctx.stdout(), /^Arguments:\n {2}- +Read the nostrconnect:\/\/ URI from standard/m);
});

Deno.test("backup and restore are listed; restore's usage problems exit 2 before any work", async () => {
  const help = testContext(["help"]);
  assert.equal(await runCli(help, NO_SERVE), EXIT.ok);
  assert.match(help.stdout(), /^ {2}backup +Save a consistent snapshot/m);
  assert.match(help.stdout(), /^ {2}restore +Restore a backup/m);

  const cases: [string[], Record<string, string>, RegExp][] = [
    [["restore"], {}, /^"restore" needs the backup FILE\n$/],
    [["restore", "a.db", "b.db"], {}, /^Unexpected argument "b\.db"\n$/],
    [["restore", "--database-url=postgres://db/keycast", "a.db"], {}, /^Unknown flag/],
    [
      ["restore", "a.db"],
      { DATABASE_URL: "postgres://keycast:hunter2@db/keycast" },
      /^Cannot restore: keycast restore is for the embedded database.*pg_restore[^\n]*\n$/,
    ],
  ];
  for (const [args, env, problem] of cases) {
    const ctx = testContext(args, { env });
    assert.equal(await runCli(ctx, NO_SERVE), EXIT.usage, ctx.stderr());
    assert.match(ctx.stderr(), problem);
    assert.doesNotMatch(ctx.stderr(), /hunter2/);
  }
});
