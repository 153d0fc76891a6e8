/**
 * keycast as its own NIP-46 relay: nostr-tools' BunkerSigner straight to keycast's port with no
 * other relay running, beside a client on an external relay, the path checks before any upgrade,
 * NIP-42 required, revocation, a restart, and the endpoint's counters.
 */
import assert from "node:assert/strict";
import * as nip44 from "nostr-tools/nip44";
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from "nostr-tools/pure";
import { RelayTestClient } from "./relay/test_client.ts";
import { Keycast, RawClient, within } from "./helpers/keycast.ts";
import { runKeycast } from "./helpers/serve.ts";

/** Sends a raw WebSocket handshake to `path` and returns the status line and the body. */
async function rawUpgrade(port: number, path: string): Promise<{ status: string; body: string }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    const request = [
      `GET ${path} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      "Connection: Upgrade",
      "Upgrade: websocket",
      "Sec-WebSocket-Version: 13",
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
      "",
      "",
    ].join("\r\n");
    await conn.write(new TextEncoder().encode(request));
    const buffer = new Uint8Array(4096);
    let text = "";
    while (!text.includes("\r\n\r\n") || !text.includes("}")) {
      const read = await conn.read(buffer);
      if (read === null) break;
      text += new TextDecoder().decode(buffer.subarray(0, read));
    }
    const [head = "", body = ""] = text.split("\r\n\r\n");
    return { status: head.split("\r\n")[0] ?? "", body };
  } finally {
    conn.close();
  }
}

Deno.test("self-contained: a BunkerSigner uses keycast's own relay with no other relay", async (t) => {
  await using keycast = await Keycast.start({ relays: 0, ownRelay: true });
  await keycast.ready();
  const created = await keycast.authorize("alice");
  const ownUrl = `ws://127.0.0.1:${keycast.server.port}/${created.bunker_pubkey}`;
  assert.deepEqual(created.relays, [ownUrl]);
  assert.ok(created.bunker_url.includes(`relay=${encodeURIComponent(ownUrl)}`));
  const signer = await keycast.signer(created.bunker_url);

  await t.step("connect, sign_event, nip44 round trip, ping, switch_relays", async () => {
    await within(signer.connect());
    const signed = await within(
      signer.signEvent({ kind: 1, created_at: 1_700_000_000, tags: [], content: "own relay" }),
    );
    assert.ok(verifyEvent(signed));
    assert.equal(signed.pubkey, created.user_pubkey);
    const third = generateSecretKey();
    const sealed = await within(signer.nip44Encrypt(getPublicKey(third), "note"));
    const key = nip44.getConversationKey(third, created.user_pubkey);
    assert.equal(nip44.decrypt(sealed, key), "note");
    assert.equal(
      await within(signer.nip44Decrypt(getPublicKey(third), nip44.encrypt("back", key))),
      "back",
    );
    await within(signer.ping());
    const relays = JSON.parse(await within(signer.sendRequest("switch_relays", [])));
    assert.deepEqual(relays, [ownUrl]);
  });

  await t.step("/health and /metrics report the own relay", async () => {
    const health = await keycast.health({ ready: true });
    assert.equal(health.status, 200);
    assert.equal(health.body.embedded_relay.advertised, true);
    assert.equal(health.body.embedded_relay.connections, 1);
    const metrics = await fetch(`${keycast.server.url}/metrics`).then((r) => r.text());
    assert.match(metrics, /^keycast_own_relay_connections 1$/m);
    assert.match(metrics, /^keycast_own_relay_messages_total [1-9]/m);
  });

  await t.step("NIP-11 on the path describes the relay", async () => {
    const info = await fetch(`${keycast.server.url}/${created.bunker_pubkey}`, {
      headers: { accept: "application/nostr+json" },
    }).then((r) => r.json());
    assert.deepEqual(info.supported_nips, [1, 11, 42, 46]);
    assert.equal(info.limitation.auth_required, false);
  });

  await t.step("unknown, malformed and revoked paths get 404 before any upgrade", async () => {
    for (const path of [`/${"a".repeat(64)}`, "/not-a-pubkey", `/${"A".repeat(64)}`]) {
      const { status, body } = await rawUpgrade(keycast.server.port, path);
      assert.match(status, /^HTTP\/1\.1 404/, path);
      assert.ok(typeof JSON.parse(body).error === "string");
    }
    const open = await RelayTestClient.connect(ownUrl);
    const revoked = await keycast.api("DELETE", `/api/authorizations/${created.id}`);
    assert.equal(revoked.status, 200);
    // The open socket is ended at once, and the path is refused from then on.
    assert.match(String((await open.nextOf("NOTICE", undefined, 5_000))[1]), /^revoked: /);
    await open.closed;
    const { status } = await rawUpgrade(keycast.server.port, `/${created.bunker_pubkey}`);
    assert.match(status, /^HTTP\/1\.1 404/);
  });
});

Deno.test("one client on the own relay and one on an external relay at once", async () => {
  await using keycast = await Keycast.start({ relays: 1, ownRelay: true });
  await keycast.ready();
  const created = await keycast.authorize("bob", { max_uses: 2 });
  const ownUrl = `ws://127.0.0.1:${keycast.server.port}/${created.bunker_pubkey}`;
  const external = keycast.relays[0]!.url;
  assert.deepEqual(created.relays, [ownUrl, external]);
  const secret = new URL(created.bunker_url.replace("bunker://", "http://x/")).searchParams
    .get("secret");
  const only = (relay: string) =>
    `bunker://${created.bunker_pubkey}?relay=${encodeURIComponent(relay)}&secret=${secret}`;
  const local = await keycast.signer(only(ownUrl));
  const remote = await keycast.signer(only(external));
  await within(Promise.all([local.connect(), remote.connect()]));
  const [a, b] = await within(Promise.all([
    local.signEvent({ kind: 1, created_at: 1_700_000_001, tags: [], content: "local" }),
    remote.signEvent({ kind: 1, created_at: 1_700_000_002, tags: [], content: "remote" }),
  ]));
  assert.ok(verifyEvent(a) && verifyEvent(b));
});

Deno.test("--relay-auth required: EVENT and REQ wait for AUTH for this exact URL", async () => {
  await using keycast = await Keycast.start({
    relays: 0,
    ownRelay: true,
    args: ["--relay-auth", "required"],
  });
  await keycast.ready();
  const created = await keycast.authorize("carol");
  const ownUrl = `ws://127.0.0.1:${keycast.server.port}/${created.bunker_pubkey}`;
  const secret = new URL(created.bunker_url.replace("bunker://", "http://x/")).searchParams
    .get("secret")!;
  const clientKey = generateSecretKey();
  const clientPubkey = getPublicKey(clientKey);
  await using socket = await RelayTestClient.connect(ownUrl);
  const challenge = String((await socket.nextOf("AUTH"))[1]);

  socket.send(["REQ", "early", { kinds: [24133], "#p": [clientPubkey] }]);
  assert.match(String((await socket.nextOf("CLOSED", "early"))[2]), /^auth-required: /);

  const auth = (url: string) =>
    finalizeEvent({
      kind: 22242,
      created_at: Math.floor(Date.now() / 1000),
      tags: [["relay", url], ["challenge", challenge]],
      content: "",
    }, clientKey);
  const wrong = auth(`ws://127.0.0.1:${keycast.server.port}/${"b".repeat(64)}`);
  socket.send(["AUTH", wrong]);
  assert.equal((await socket.nextOf("OK", wrong.id))[2], false);
  const right = auth(ownUrl);
  socket.send(["AUTH", right]);
  assert.equal((await socket.nextOf("OK", right.id))[2], true);

  socket.send(["REQ", "replies", { kinds: [24133], "#p": [clientPubkey] }]);
  await socket.nextOf("EOSE", "replies");
  const raw = await RawClient.connect([], { secretKey: clientKey });
  const { event, id } = raw.request(created.bunker_pubkey, "connect", [
    created.bunker_pubkey,
    secret,
  ]);
  socket.send(["EVENT", event]);
  assert.equal((await socket.nextOf("OK", event.id))[2], true);
  const reply = await socket.nextOf("EVENT", "replies", 10_000);
  const opened = JSON.parse(
    nip44.decrypt(
      (reply[2] as { content: string }).content,
      nip44.getConversationKey(clientKey, created.bunker_pubkey),
    ),
  );
  assert.deepEqual({ id: opened.id, result: opened.result }, { id, result: "ack" });
  const health = await keycast.health();
  assert.equal(health.body.embedded_relay.authenticated_connections, 1);
});

Deno.test("a bound client keeps working on the own relay after a restart", async () => {
  await using keycast = await Keycast.start({ relays: 0, ownRelay: true });
  await keycast.ready();
  const created = await keycast.authorize("dave");
  const clientKey = generateSecretKey();
  const first = await keycast.signer(created.bunker_url, clientKey);
  await within(first.connect());
  await first.close();
  await keycast.restart();
  // nostr-tools apps never connect again: the bound client signs at once.
  const again = await keycast.signer(created.bunker_url, clientKey);
  const signed = await within(
    again.signEvent({ kind: 1, created_at: 1_700_000_003, tags: [], content: "after" }),
  );
  assert.ok(verifyEvent(signed));
});

Deno.test("serve --public-url alone: a bunker URL from `keycast authorize` works in another process", async () => {
  await using keycast = await Keycast.start({ relays: 0, ownRelay: true, process: true });
  await keycast.ready();
  const env = { KEYCAST_DATA_DIR: keycast.dataDir, KEYCAST_SERVER: keycast.server.url };
  assert.equal((await runKeycast(["keys", "generate", "--name", "erin"], { env })).code, 0);
  const authorized = await runKeycast(["authorize", "--key", "erin"], { env });
  assert.equal(authorized.code, 0, authorized.stderr);
  const bunkerUrl = /bunker:\/\/\S+/.exec(authorized.stdout)?.[0];
  assert.ok(bunkerUrl, authorized.stdout);
  const client = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./helpers/own_relay_client.ts", import.meta.url).pathname,
      bunkerUrl,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(client.stderr);
  assert.equal(client.code, 0, stderr);
  const result = JSON.parse(new TextDecoder().decode(client.stdout));
  assert.deepEqual(result, { signed: true, nip44: true, ping: true });
});
