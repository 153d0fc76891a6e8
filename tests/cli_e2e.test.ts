/**
 * End to end: the management CLI against a running `keycast serve`, the bunker URL it prints used
 * by a BunkerSigner in this (separate) process, and the admin API through NIP-98.
 */
import assert from "node:assert/strict";
import { sha256 } from "@noble/hashes/sha2.js";
import { base64 } from "@scure/base";
import { npubEncode } from "nostr-tools/nip19";
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from "nostr-tools/pure";
import { DEFAULT_RELAYS } from "../src/config/config.ts";
import { encodeHex } from "../src/util/hex.ts";
import { Keycast, within } from "./helpers/keycast.ts";
import { runKeycast } from "./helpers/serve.ts";

function nip98(url: string, method: string, secretKey: Uint8Array, body?: string): string {
  const tags = [["u", url], ["method", method]];
  if (body) tags.push(["payload", encodeHex(sha256(new TextEncoder().encode(body)))]);
  const event = finalizeEvent(
    { kind: 27235, created_at: Math.floor(Date.now() / 1000), tags, content: "" },
    secretKey,
  );
  return `Nostr ${base64.encode(new TextEncoder().encode(JSON.stringify(event)))}`;
}

Deno.test("CLI: keys generate, authorize, a BunkerSigner signs, authorizations revoke; NIP-98 admin", async (t) => {
  const admin = generateSecretKey();
  await using keycast = await Keycast.start({
    args: ["--admin-pubkey", npubEncode(getPublicKey(admin))],
  });
  const cli = (args: string[], stdin?: string) =>
    runKeycast([...args, "--server", keycast.server.url, "--data-dir", keycast.dataDir], { stdin });

  let bunkerUrl = "";
  await t.step("keys generate prints an npub, authorize prints a bunker:// URL", async () => {
    const generated = await cli(["keys", "generate", "--name", "alice"]);
    assert.equal(generated.code, 0, generated.stderr);
    assert.ok(/^npub1[02-9ac-hj-np-z]{58}\n$/.test(generated.stdout), generated.stdout);
    const authorized = await cli([
      "authorize",
      "--key",
      "alice",
      "--relay",
      keycast.relays[0]!.url,
    ]);
    assert.equal(authorized.code, 0, authorized.stderr);
    bunkerUrl = authorized.stdout.trim();
    assert.ok(
      /^bunker:\/\/[0-9a-f]{64}\?relay=[^&]+&secret=[0-9a-f]{64}$/.test(bunkerUrl),
      bunkerUrl,
    );
  });

  await t.step("a BunkerSigner in this process connects with it and signs", async () => {
    const signer = await keycast.signer(bunkerUrl);
    await within(signer.connect());
    const signed = await within(
      signer.signEvent({ kind: 1, created_at: 1_700_000_000, tags: [], content: "cli" }),
    );
    assert.ok(verifyEvent(signed));
  });

  await t.step("README's try-it client signs through a second authorization", async () => {
    const authorized = await cli([
      "authorize",
      "--key",
      "alice",
      "--relay",
      keycast.relays[0]!.url,
    ]);
    assert.equal(authorized.code, 0, authorized.stderr);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../examples/try_client.ts", import.meta.url).pathname],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(authorized.stdout));
    await writer.close();
    const output = await within(child.output(), 30_000);
    const stderr = new TextDecoder().decode(output.stderr);
    assert.equal(output.code, 0, stderr);
    const { pubkey, event } = JSON.parse(new TextDecoder().decode(output.stdout));
    const [key] = (await keycast.api("GET", "/api/keys")).body.keys;
    assert.equal(pubkey, key.pubkey);
    assert.ok(verifyEvent(event));
    assert.equal(event.content, "Hello from a keycast bunker");
  });

  await t.step("authorizations list shows it and revoke works", async () => {
    const listed = await cli(["authorizations", "list", "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    const [authorization] = JSON.parse(listed.stdout).authorizations ?? JSON.parse(listed.stdout);
    const revoked = await cli(["authorizations", "revoke", authorization.id]);
    assert.equal(revoked.code, 0, revoked.stderr);
    const after = await keycast.api("GET", `/api/authorizations/${authorization.id}`);
    assert.equal(after.body.status, "revoked");
  });

  await t.step("usage errors exit 2, server errors exit 1", async () => {
    const usage = await cli(["authorize", "--key", "alice", "--relay", "htp://x"]);
    assert.equal(usage.code, 2);
    const missing = await cli(["authorizations", "revoke", crypto.randomUUID()]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /HTTP 404/);
  });

  await t.step("the admin API accepts NIP-98 from the --admin-pubkey and no one else", async () => {
    const url = `${keycast.server.url}/api/keys`;
    const body = JSON.stringify({ name: "bob" });
    const created = await fetch(url, {
      method: "POST",
      headers: {
        authorization: nip98(url, "POST", admin, body),
        "content-type": "application/json",
      },
      body,
    });
    assert.equal(created.status, 201, await created.clone().text());
    assert.equal((await created.json()).name, "bob");
    const stranger = await fetch(url, {
      headers: { authorization: nip98(url, "GET", generateSecretKey()) },
    });
    assert.equal(stranger.status, 403);
    await stranger.body?.cancel();
  });
});

Deno.test("CLI: serve --help names the default relays", async () => {
  const help = await runKeycast(["serve", "--help"]);
  assert.equal(help.code, 0, help.stderr);
  const relayLine = help.stdout.split("\n").find((line) => line.startsWith("  --relay URL"));
  assert.ok(relayLine, help.stdout);
  for (const relay of DEFAULT_RELAYS) assert.ok(relayLine.includes(relay), relayLine);
});

Deno.test("CLI: policies update, id prefixes, --server from PORT, deleting a revoked-only policy, oauth clients", async (t) => {
  await using keycast = await Keycast.start();
  const cli = (args: string[], stdin?: string) =>
    runKeycast([...args, "--server", keycast.server.url, "--data-dir", keycast.dataDir], { stdin });

  await t.step("without --server or KEYCAST_SERVER the CLI finds serve's PORT", async () => {
    const listed = await runKeycast(["keys", "list", "--data-dir", keycast.dataDir], {
      env: { PORT: String(keycast.server.port), KEYCAST_HOST: "0.0.0.0" },
    });
    assert.equal(listed.code, 0, listed.stderr);
  });

  let id = "";
  await t.step("policies update re-sends the live authorization using it", async () => {
    assert.equal((await cli(["keys", "generate", "--name", "alice"])).code, 0);
    const added = await cli(["policies", "add", "notes", "--allow-kinds", "1"]);
    assert.equal(added.code, 0, added.stderr);
    const authorized = await cli(["authorize", "--key", "alice", "--policy", "notes", "--json"]);
    assert.equal(authorized.code, 0, authorized.stderr);
    id = JSON.parse(authorized.stdout).id;
    const updated = await cli(["policies", "update", "notes", "--allow-kinds", "1,7"]);
    assert.equal(updated.code, 0, updated.stderr);
    assert.equal(updated.stdout, "Updated policy notes: 1 live authorization updated\n");
    const policy = await keycast.api("GET", "/api/policies/notes");
    assert.deepEqual(policy.body.rules, { kinds: [1, 7] });
  });

  await t.step("the policy cannot be removed while a live authorization uses it", async () => {
    const refused = await cli(["policies", "remove", "notes"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /still use it.*\(HTTP 409\)/);
  });

  await t.step("audit and revoke take the 8-character id prefix", async () => {
    const audit = await cli(["audit", "--authorization", id.slice(0, 8)]);
    assert.equal(audit.code, 0, audit.stderr);
    const unknown = await cli(["authorizations", "revoke", id.startsWith("0") ? "ffff" : "0000"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^Error: No authorization id starts with "/);
    const revoked = await cli(["authorizations", "revoke", id.slice(0, 8)]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(revoked.stdout, `Revoked authorization ${id}\n`);
  });

  await t.step("oauth clients add, list and remove a registered app", async () => {
    const added = await cli([
      "oauth",
      "clients",
      "add",
      "notes-app",
      "--name",
      "Notes",
      "--redirect-uri",
      "com.example.notes:/cb",
      "--redirect-uri",
      "https://notes.example/cb",
      "--policy",
      "social",
    ]);
    assert.equal(added.code, 0, added.stderr);
    assert.equal(
      added.stdout,
      "Registered OAuth client notes-app: 2 redirect URIs, policy social\n",
    );
    const stored = await keycast.api("GET", "/api/oauth-clients");
    assert.deepEqual(stored.body.clients[0].redirect_uris, [
      "com.example.notes:/cb",
      "https://notes.example/cb",
    ]);
    const table = await cli(["oauth", "clients", "list"]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^CLIENT ID +NAME +POLICY +CREATED \(UTC\) +REDIRECT URIS\n/);
    assert.match(
      table.stdout,
      /^notes-app +Notes +social +\d{4}-\d\d-\d\d \d\d:\d\d +com\.example\.notes:\/cb https:\/\/notes\.example\/cb\n/m,
    );
    const refused = await cli([
      "oauth",
      "clients",
      "add",
      "evil",
      "--name",
      "Evil",
      "--redirect-uri",
      "javascript:alert(1)",
    ]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /javascript: URIs cannot receive codes/);
    const removed = await cli(["oauth", "clients", "remove", "notes-app"]);
    assert.equal(removed.code, 0, removed.stderr);
    assert.match(removed.stdout, /^Removed OAuth client notes-app/);
    const listed = await cli(["oauth", "clients", "list", "--json"]);
    assert.deepEqual(JSON.parse(listed.stdout), []);
    const missing = await cli(["oauth", "clients", "remove", "notes-app"]);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error: No registered OAuth client "notes-app" (HTTP 404)\n');
  });

  await t.step("once only revoked authorizations use it, the policy can be removed", async () => {
    const removed = await cli(["policies", "remove", "notes"]);
    assert.equal(removed.code, 0, removed.stderr);
    const after = await keycast.api("GET", `/api/authorizations/${id}`);
    assert.equal(after.body.status, "revoked");
    assert.equal(after.body.policy, null);
  });
});

Deno.test("CLI: accounts create (password on stdin), list, invite, disable/enable, reset-password", async (t) => {
  await using keycast = await Keycast.start({ process: true });
  const cli = (args: string[], stdin?: string) =>
    runKeycast([...args, "--server", keycast.server.url, "--data-dir", keycast.dataDir], { stdin });
  const login = async (username: string, password: string) => {
    const response = await fetch(`${keycast.server.url}/api/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    await response.body?.cancel();
    return response.status;
  };
  const firstPassword = "violet-kettle-harbor-92";
  const secondPassword = "amber-lantern-orchard-57";
  const inviteePassword = "copper-meadow-whistle-38";

  await t.step("create reads the password from stdin and refuses it in argv", async () => {
    const argv = await cli(["accounts", "create", "ops", firstPassword]);
    assert.equal(argv.code, 2);
    assert.ok(!argv.stderr.includes(firstPassword), argv.stderr);
    const created = await cli(["accounts", "create", "ops", "--admin"], `${firstPassword}\n`);
    assert.equal(created.code, 0, created.stderr);
    assert.equal(created.stdout, "Created admin account ops\n");
    assert.equal(await login("ops", firstPassword), 200);
  });

  await t.step("list shows the account, as a table and as JSON", async () => {
    const table = await cli(["accounts", "list"]);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^USERNAME +ROLE +STATUS +KEYS +EMAIL +CREATED \(UTC\)\n/);
    assert.match(table.stdout, /^ops +admin +active +1 +- +\d{4}-\d\d-\d\d \d\d:\d\d\n/m);
    const listed = await cli(["accounts", "list", "--json"]);
    assert.equal(listed.code, 0, listed.stderr);
    const [ops] = JSON.parse(listed.stdout);
    assert.deepEqual([ops.username, ops.role, ops.disabled, ops.key_count], [
      "ops",
      "admin",
      false,
      1,
    ]);
  });

  let code = "";
  await t.step("invite prints a code someone can register with", async () => {
    const invited = await cli(["accounts", "invite", "--expires", "2d"]);
    assert.equal(invited.code, 0, invited.stderr);
    assert.match(invited.stdout, /^[A-Za-z0-9_-]{16,64}\n$/);
    code = invited.stdout.trim();
    assert.match(invited.stderr, /role user, open until .* UTC\.\nThe code above is shown only/);
    assert.ok(!invited.stderr.includes(code));
    const registered = await fetch(`${keycast.server.url}/api/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "dana", password: inviteePassword, invite: code }),
    });
    assert.equal(registered.status, 201, await registered.clone().text());
    await registered.body?.cancel();
    const listed = JSON.parse((await cli(["accounts", "list", "--json"])).stdout);
    assert.deepEqual(listed.map((a: { username: string }) => a.username), ["ops", "dana"]);
  });

  await t.step("disable stops logins, enable lets them in again", async () => {
    const disabled = await cli(["accounts", "disable", "dana"]);
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.match(disabled.stdout, /^Disabled account dana/);
    assert.equal(await login("dana", inviteePassword), 403);
    const table = await cli(["accounts", "list"]);
    assert.match(table.stdout, /^dana +user +disabled /m);
    const enabled = await cli(["accounts", "enable", "dana"]);
    assert.equal(enabled.code, 0, enabled.stderr);
    assert.equal(await login("dana", inviteePassword), 200);
  });

  await t.step("reset-password sets the password read from stdin", async () => {
    const weak = await cli(["accounts", "reset-password", "ops"], "short\n");
    assert.equal(weak.code, 2);
    assert.match(weak.stderr, /^Password: Use at least 12 characters/);
    const reset = await cli(["accounts", "reset-password", "ops"], `${secondPassword}\n`);
    assert.equal(reset.code, 0, reset.stderr);
    assert.match(reset.stdout, /^Set a new password for ops: \d+ sessions? ended\n$/);
    assert.equal(await login("ops", firstPassword), 401);
    assert.equal(await login("ops", secondPassword), 200);
    const missing = await cli(["accounts", "reset-password", "nobody"], `${secondPassword}\n`);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^Error: No account "nobody" \(HTTP 404\)\n$/);
  });

  await t.step("neither the invite code nor a password reached the server's log", () => {
    for (const secret of [code, firstPassword, secondPassword, inviteePassword]) {
      assert.ok(!keycast.server.lines.some((line) => line.includes(secret)), secret);
    }
  });
});
