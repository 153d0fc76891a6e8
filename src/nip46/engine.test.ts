import assert from "node:assert/strict";
import type { ActiveAuthorization } from "../domain/authorization.ts";
import { silentLog } from "../log.ts";
import { AuthorizationDirectory, TOMBSTONE_MS, type WatchTarget } from "./engine.ts";
import { AuthorizationRegistry } from "./registry.ts";
import {
  BUNKER_PUBKEY,
  CLIENT_PUBKEY,
  OTHER_CLIENT_PUBKEY,
  T0,
  testAuthorization,
} from "./testing.ts";

const DEFAULT_RELAYS = ["wss://default.test"];

/** Records every watch and unwatch, in order. */
class Watches implements WatchTarget {
  readonly calls: string[] = [];
  watch(bunkerPubkey: string, relays: readonly string[]): void {
    this.calls.push(`watch ${bunkerPubkey.slice(0, 1)} ${relays.join(" ")}`);
  }
  unwatch(bunkerPubkey: string): void {
    this.calls.push(`unwatch ${bunkerPubkey.slice(0, 1)}`);
  }
}

/** A directory over an in-memory registry, on a clock the test moves by hand. */
function setup(opts: { tombstoneMs?: number } = {}) {
  const clock = { now: T0 };
  const registry = new AuthorizationRegistry({
    source: { loadActive: () => Promise.resolve([]) },
    log: silentLog,
  });
  const relays = new Watches();
  const removed: ActiveAuthorization[] = [];
  const directory = new AuthorizationDirectory({
    registry,
    relays,
    defaultRelays: DEFAULT_RELAYS,
    now: () => clock.now,
    onRemoved: (authorization) => void removed.push(authorization),
    ...opts,
  });
  return { clock, registry, relays, removed, directory };
}

Deno.test("AuthorizationDirectory watches each upserted bunker on its relays, else the defaults", async () => {
  const { registry, relays, directory: d } = setup();
  using directory = d;
  const own = testAuthorization({ relays: ["wss://own.test"] });
  await registry.apply({ type: "upsert", authorization: own });
  await registry.apply({
    type: "upsert",
    authorization: testAuthorization({ bunkerPubkey: "f".repeat(64), relays: [] }),
  });
  assert.deepEqual(relays.calls, ["watch b wss://own.test", "watch f wss://default.test"]);
  assert.equal(directory.get(BUNKER_PUBKEY), own);
  assert.equal(directory.removed(BUNKER_PUBKEY), undefined);
});

Deno.test("AuthorizationDirectory watches authorizations the registry held before it was built", async () => {
  const registry = new AuthorizationRegistry({
    source: { loadActive: () => Promise.resolve([]) },
    log: silentLog,
  });
  await registry.apply({ type: "upsert", authorization: testAuthorization() });
  const relays = new Watches();
  using _directory = new AuthorizationDirectory({ registry, relays, defaultRelays: [] });
  assert.deepEqual(relays.calls, ["watch b wss://relay.test"]);
});

Deno.test("AuthorizationDirectory keeps a removed authorization as a tombstone and reports it", async () => {
  const { registry, relays, removed, directory: d } = setup();
  using directory = d;
  const authorization = testAuthorization();
  await registry.apply({ type: "upsert", authorization });
  await registry.apply({ type: "remove", bunkerPubkey: BUNKER_PUBKEY });
  assert.equal(directory.get(BUNKER_PUBKEY), undefined);
  assert.equal(directory.removed(BUNKER_PUBKEY), authorization);
  assert.deepEqual(removed, [authorization]);
  assert.deepEqual(relays.calls, ["watch b wss://relay.test"], "still watched: it answers revoked");
});

Deno.test("AuthorizationDirectory.sweep() unwatches a tombstone only once it has expired", async () => {
  const { clock, registry, relays, directory: d } = setup();
  using directory = d;
  await registry.apply({ type: "upsert", authorization: testAuthorization() });
  await registry.apply({ type: "remove", bunkerPubkey: BUNKER_PUBKEY });
  clock.now += TOMBSTONE_MS - 1;
  directory.sweep();
  assert.notEqual(directory.removed(BUNKER_PUBKEY), undefined);
  assert.deepEqual(relays.calls, ["watch b wss://relay.test"]);
  clock.now += 1;
  assert.notEqual(directory.removed(BUNKER_PUBKEY), undefined, "answered until the next sweep");
  directory.sweep();
  assert.equal(directory.removed(BUNKER_PUBKEY), undefined);
  assert.deepEqual(relays.calls, ["watch b wss://relay.test", "unwatch b"]);
  directory.sweep();
  assert.deepEqual(relays.calls, ["watch b wss://relay.test", "unwatch b"], "swept once");
});

Deno.test("AuthorizationDirectory honours its tombstoneMs option", async () => {
  const { clock, registry, relays, directory: d } = setup({ tombstoneMs: 1_000 });
  using directory = d;
  await registry.apply({ type: "upsert", authorization: testAuthorization() });
  await registry.apply({ type: "remove", bunkerPubkey: BUNKER_PUBKEY });
  clock.now += 999;
  directory.sweep();
  assert.equal(relays.calls.length, 1);
  clock.now += 1;
  directory.sweep();
  assert.deepEqual(relays.calls.at(-1), "unwatch b");
});

Deno.test("AuthorizationDirectory keeps watching a bunker re-added before its tombstone expired", async () => {
  const { clock, registry, relays, directory: d } = setup();
  using directory = d;
  await registry.apply({ type: "upsert", authorization: testAuthorization() });
  await registry.apply({ type: "remove", bunkerPubkey: BUNKER_PUBKEY });
  const readded = testAuthorization({ keyName: "again" });
  await registry.apply({ type: "upsert", authorization: readded });
  assert.equal(directory.removed(BUNKER_PUBKEY), undefined);
  assert.equal(directory.get(BUNKER_PUBKEY), readded);
  clock.now += TOMBSTONE_MS;
  directory.sweep();
  assert.deepEqual(relays.calls, ["watch b wss://relay.test", "watch b wss://relay.test"]);
});

Deno.test("AuthorizationDirectory.setClient() merges the client into the newest copy", async () => {
  const { registry, directory: d } = setup();
  using directory = d;
  await registry.apply({
    type: "upsert",
    authorization: testAuthorization({
      clients: [{ clientPubkey: CLIENT_PUBKEY, loggedOut: false }],
    }),
  });
  // A policy change arrives while a connect is being handled on the older copy.
  await registry.apply({
    type: "upsert",
    authorization: testAuthorization({
      policyName: "social",
      clients: [{ clientPubkey: CLIENT_PUBKEY, loggedOut: false }],
    }),
  });
  directory.setClient(BUNKER_PUBKEY, { clientPubkey: OTHER_CLIENT_PUBKEY, loggedOut: false });
  directory.setClient(BUNKER_PUBKEY, { clientPubkey: CLIENT_PUBKEY, loggedOut: true });
  const latest = directory.get(BUNKER_PUBKEY);
  assert.equal(latest?.policyName, "social");
  assert.deepEqual(latest?.clients, [
    { clientPubkey: OTHER_CLIENT_PUBKEY, loggedOut: false },
    { clientPubkey: CLIENT_PUBKEY, loggedOut: true },
  ]);
});

Deno.test("AuthorizationDirectory.setClient() does nothing once the authorization is gone", async () => {
  const { registry, relays, directory: d } = setup();
  using directory = d;
  await registry.apply({ type: "upsert", authorization: testAuthorization() });
  await registry.apply({ type: "remove", bunkerPubkey: BUNKER_PUBKEY });
  directory.setClient(BUNKER_PUBKEY, { clientPubkey: CLIENT_PUBKEY, loggedOut: false });
  assert.equal(directory.get(BUNKER_PUBKEY), undefined);
  assert.equal(registry.size, 0);
  assert.deepEqual(directory.removed(BUNKER_PUBKEY)?.clients, []);
  assert.deepEqual(relays.calls, ["watch b wss://relay.test"]);
});

Deno.test("AuthorizationDirectory.relaysOf() copies the default list", () => {
  const { directory: d } = setup();
  using directory = d;
  const relays = directory.relaysOf(testAuthorization({ relays: [] }));
  assert.deepEqual(relays, DEFAULT_RELAYS);
  assert.notEqual(relays, DEFAULT_RELAYS);
});
