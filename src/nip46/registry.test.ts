import assert from "node:assert/strict";
import { AuthorizationChannel } from "../channel/channel.ts";
import type { ActiveAuthorization } from "../domain/authorization.ts";
import { silentLog } from "../log.ts";
import { AuthorizationRegistry, type AuthorizationSource } from "./registry.ts";

function authorization(bunkerPubkey: string, label = "a"): ActiveAuthorization {
  return {
    id: crypto.randomUUID(),
    keyId: "k",
    keyName: label,
    userPubkey: "u".repeat(64),
    userSecretSealed: "sealed",
    bunkerPubkey,
    bunkerSecretSealed: "sealed",
    secretHash: "h".repeat(64),
    relays: [],
    policyName: null,
    policy: null,
    maxUses: 1,
    expiresAt: null,
    clients: [],
  };
}

/** A database stand-in whose snapshot the test controls and whose load it can hold open. */
class Snapshot implements AuthorizationSource {
  rows: ActiveAuthorization[] = [];
  gate: Promise<void> = Promise.resolve();
  async loadActive() {
    const rows = [...this.rows];
    await this.gate;
    return rows;
  }
}

async function settle(registry: AuthorizationRegistry) {
  for (let i = 0; i < 50 && registry.pending > 0; i++) await new Promise((r) => setTimeout(r, 1));
  await new Promise((r) => setTimeout(r, 1));
}

Deno.test("AuthorizationRegistry loads the snapshot, then applies upserts and removes in order", async () => {
  const source = new Snapshot();
  source.rows = [authorization("a".repeat(64))];
  const channel = new AuthorizationChannel();
  await using registry = new AuthorizationRegistry({ source, log: silentLog });
  const seen: string[] = [];
  registry.observe({
    upserted: (a) => seen.push(`+${a.bunkerPubkey[0]}`),
    removed: (a) => seen.push(`-${a.bunkerPubkey[0]}`),
  });
  await registry.start(channel);
  assert.equal(registry.loaded, true);
  assert.equal(registry.size, 1);
  channel.send({ type: "upsert", authorization: authorization("b".repeat(64)) });
  channel.send({ type: "remove", bunkerPubkey: "a".repeat(64) });
  await settle(registry);
  assert.deepEqual([...registry.all()].map((a) => a.bunkerPubkey[0]), ["b"]);
  assert.deepEqual(seen, ["+a", "+b", "-a"]);
  channel.close();
});

Deno.test("AuthorizationRegistry lets a remove sent during the startup load win", async () => {
  const source = new Snapshot();
  source.rows = [authorization("a".repeat(64))];
  let open!: () => void;
  source.gate = new Promise((resolve) => (open = resolve));
  const channel = new AuthorizationChannel();
  await using registry = new AuthorizationRegistry({ source, log: silentLog });
  const starting = registry.start(channel);
  channel.send({ type: "remove", bunkerPubkey: "a".repeat(64) });
  open();
  await starting;
  await settle(registry);
  assert.equal(registry.get("a".repeat(64)), undefined);
  assert.equal(registry.size, 0);
  channel.close();
});

Deno.test("AuthorizationRegistry reload replaces its state with the database's", async () => {
  const source = new Snapshot();
  source.rows = [authorization("a".repeat(64)), authorization("b".repeat(64))];
  const channel = new AuthorizationChannel();
  await using registry = new AuthorizationRegistry({ source, log: silentLog });
  await registry.start(channel);
  source.rows = [authorization("b".repeat(64), "renamed"), authorization("c".repeat(64))];
  channel.send({ type: "reload" });
  await settle(registry);
  assert.deepEqual([...registry.all()].map((a) => a.bunkerPubkey[0]).sort(), ["b", "c"]);
  assert.equal(registry.get("b".repeat(64))?.keyName, "renamed");
  channel.close();
});

Deno.test("AuthorizationRegistry.whenPresent() waits for the channel to deliver, or the signal", async () => {
  const channel = new AuthorizationChannel();
  await using registry = new AuthorizationRegistry({ source: new Snapshot(), log: silentLog });
  await registry.start(channel);
  const waiting = registry.whenPresent("d".repeat(64), AbortSignal.timeout(5_000));
  channel.send({ type: "upsert", authorization: authorization("d".repeat(64)) });
  assert.equal(await waiting, true);
  const aborted = new AbortController();
  const never = registry.whenPresent("e".repeat(64), aborted.signal);
  aborted.abort();
  assert.equal(await never, false);
  channel.close();
});
