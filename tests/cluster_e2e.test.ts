/**
 * `serve --cluster` end to end: three real `keycast serve` processes on one PostgreSQL database
 * with a 3 s lease, two test relays, and clients (nostr-tools' `BunkerSigner`, and hand-built
 * requests) while an observer socket on every relay counts every reply event the bunkers publish —
 * not only the first a client saw — so a request answered by two instances shows up as two.
 *
 * Authorizations are created through instance 0, which also watches every bunker it created for
 * 15 s whatever its slot (`NEW_BUNKER_HOLD_MS`, `src/server.ts`); the fault tests therefore take
 * instance 0 itself away, so that no hold masks a take-over that did not happen.
 */
import assert from "node:assert/strict";
import { BunkerSigner, parseBunkerInput } from "nostr-tools/nip46";
import { SimplePool } from "nostr-tools/pool";
import { type NostrEvent, verifyEvent } from "nostr-tools/pure";
import { deadline } from "../src/util/async.ts";
import { type SentRequest, TestCluster, Traffic, type TrafficClient } from "./helpers/cluster.ts";
import { skipWithoutPostgres } from "./helpers/db.ts";
import { eventually } from "./helpers/eventually.ts";
import type { Json } from "./helpers/keycast.ts";

const LEASE_SECONDS = 3;
const LEASE_MS = LEASE_SECONDS * 1000;
/**
 * From an instance's end (kill, cut) to the first request the others must answer, in ms: the
 * lease, one heartbeat (a third of the lease), and a margin for subscribing on the relays.
 */
const TAKEOVER_BOUND_MS = LEASE_MS + LEASE_MS / 3 + 2_000;
/** How long after the last answer a second answer to any request is still waited for, in ms. */
const QUIET_MS = 2_000;
/** Authorizations (and clients) in every test. */
const AUTHORIZATIONS = 30;
/** Time between two requests of the steady load, in ms. */
const LOAD_EVERY_MS = 40;

/** One authorization and the client connected to it. */
interface Pair {
  authorization: Json;
  bunkerPubkey: string;
  userPubkey: string;
  client: TrafficClient;
}

/** Registers a cluster test, skipped with a printed reason without PostgreSQL (not in CI). */
function clusterTest(name: string, fn: (t: Deno.TestContext) => Promise<void>): void {
  Deno.test(name, async (t) => {
    if (await skipWithoutPostgres()) return;
    await fn(t);
  });
}

function secretOf(authorization: Json): string {
  const url = new URL(String(authorization.bunker_url).replace("bunker://", "http://"));
  return url.searchParams.get("secret")!;
}

function template(n: number): string {
  return JSON.stringify({
    kind: 1,
    created_at: Math.floor(Date.now() / 1000),
    tags: [],
    content: `cluster ${n}`,
  });
}

/** Creates `count` authorizations through instance `index` (a few at a time). */
async function authorizeMany(cluster: TestCluster, index: number, count: number): Promise<Json[]> {
  const created: Json[] = [];
  for (let i = 0; i < count; i += 5) {
    const batch = Math.min(5, count - i);
    created.push(
      ...await Promise.all(
        Array.from({ length: batch }, (_, j) => cluster.authorize(index, `key-${(i + j) % 3}`)),
      ),
    );
  }
  return created;
}

/** Connects a fresh client to every authorization with hand-built requests. */
async function connectAll(traffic: Traffic, authorizations: readonly Json[]): Promise<Pair[]> {
  return await Promise.all(authorizations.map(async (authorization) => {
    const client = traffic.client();
    const bunkerPubkey = String(authorization.bunker_pubkey);
    const reply = await traffic.call(client, bunkerPubkey, "connect", [
      bunkerPubkey,
      secretOf(authorization),
    ]);
    assert.equal(reply.result, "ack", `connect to ${bunkerPubkey}: ${reply.error}`);
    return { authorization, bunkerPubkey, userPubkey: String(authorization.user_pubkey), client };
  }));
}

/** Whether `reply` carries a valid signature of the user's key over the template sent. */
function validSignature(result: string, userPubkey: string): boolean {
  try {
    const event = JSON.parse(result) as NostrEvent;
    return verifyEvent(event) && event.pubkey === userPubkey && event.kind === 1 &&
      event.content.startsWith("cluster ");
  } catch (_error: unknown) {
    return false; // Not an event: not a signature.
  }
}

/** A steady stream of `sign_event` requests over `pairs`, round robin, until stopped. */
class SteadyLoad {
  readonly sent: SentRequest[] = [];
  readonly #pairsByRequest = new Map<string, Pair>();
  readonly #done: Promise<void>;
  #stopped = false;

  constructor(traffic: Traffic, pairs: readonly Pair[], maxMs: number) {
    this.#done = (async () => {
      const until = Date.now() + maxMs;
      const maxCount = Math.ceil(maxMs / LOAD_EVERY_MS);
      for (let i = 0; i < maxCount && !this.#stopped && Date.now() < until; i++) {
        const pair = pairs[i % pairs.length]!;
        const request = traffic.send(pair.client, pair.bunkerPubkey, "sign_event", [template(i)]);
        this.sent.push(request);
        this.#pairsByRequest.set(request.key, pair);
        await new Promise((resolve) => setTimeout(resolve, LOAD_EVERY_MS));
      }
    })();
  }

  /** The pair a request was sent for. */
  pairOf(request: SentRequest): Pair {
    return this.#pairsByRequest.get(request.key)!;
  }

  /** Stops sending and waits for the loop to end. */
  async stop(): Promise<SentRequest[]> {
    this.#stopped = true;
    await this.#done;
    return this.sent;
  }
}

/** Asserts that no request got two replies, and that `mustAnswer` got exactly one valid each. */
function assertExactlyOnce(
  traffic: Traffic,
  load: SteadyLoad,
  mustAnswer: readonly SentRequest[],
  what: string,
): void {
  const twice = load.sent.filter((request) => traffic.repliesTo(request).length > 1);
  assert.deepEqual(
    twice.map((r) => `${r.key} sent at ${r.sentAt}: ${traffic.repliesTo(r).length} replies`),
    [],
    "requests answered more than once",
  );
  const unanswered = mustAnswer.filter((request) => traffic.repliesTo(request).length !== 1);
  assert.deepEqual(
    unanswered.map((r) => `${r.key} sent at ${r.sentAt}`),
    [],
    `${what}: requests not answered exactly once`,
  );
  const invalid = mustAnswer.filter((request) => {
    const [reply] = traffic.repliesTo(request);
    return !validSignature(reply!.result, load.pairOf(request).userPubkey);
  });
  assert.deepEqual(
    invalid.map((r) => `${r.key}: ${JSON.stringify(traffic.repliesTo(r)[0])}`),
    [],
    `${what}: replies without a valid signature`,
  );
  assert.deepEqual(traffic.unreadable, [], "reply events the observer could not read");
  assert.deepEqual(traffic.refused, [], "requests a relay refused");
}

/** Asserts that no running instance fenced itself before `until` (while the database answered). */
function assertNeverFenced(cluster: TestCluster, until = Infinity): void {
  for (const index of cluster.running) {
    const fencedAt = cluster.loggedAt(index, "The cluster lease ran out");
    assert.ok(
      fencedAt === undefined || fencedAt >= until,
      `instance ${index} fenced itself at ${fencedAt} while the database answered`,
    );
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A cluster of three with {@link AUTHORIZATIONS} authorizations made through instance 0. */
async function prepared(cluster: TestCluster): Promise<{
  ids: Map<number, string>;
  authorizations: Json[];
  bunkers: string[];
  owners: Map<string, number>;
}> {
  const ids = await cluster.settled();
  const authorizations = await authorizeMany(cluster, 0, AUTHORIZATIONS);
  const bunkers = authorizations.map((a) => String(a.bunker_pubkey));
  const owners = TestCluster.owners(ids, bunkers);
  // 30 random bunkers leave an instance without one about once in 60,000 runs.
  for (const index of cluster.running) {
    assert.ok([...owners.values()].includes(index), `instance ${index} owns none of the bunkers`);
  }
  return { ids, authorizations, bunkers, owners };
}

clusterTest(
  "cluster: 300 sign_event requests from 30 clients are answered exactly once; a revocation through another instance is honoured by the owner",
  async (t) => {
    await using cluster = await TestCluster.start({ leaseSeconds: LEASE_SECONDS });
    const { authorizations, bunkers, owners } = await prepared(cluster);
    const relayUrls = cluster.relays.map((relay) => relay.url);
    await using traffic = await Traffic.open(relayUrls, bunkers);

    await t.step(
      "each instance watches exactly the bunkers it owns (instance 0 holds all it made)",
      async () => {
        await eventually("every instance watches its share", async () => {
          const watched = await Promise.all(cluster.running.map(async (index) => {
            return (await cluster.health(index)).body.cluster.watched_bunkers as number;
          }));
          const owned = (index: number) => [...owners.values()].filter((o) => o === index).length;
          return watched[0] === AUTHORIZATIONS && watched[1] === owned(1) &&
            watched[2] === owned(2);
        });
      },
    );

    const signers: { pair: Pair; signer: BunkerSigner; pool: SimplePool }[] = [];
    try {
      await t.step("30 BunkerSigners connect, then send 10 sign_event each at once", async () => {
        for (const authorization of authorizations) {
          const pointer = await parseBunkerInput(String(authorization.bunker_url));
          assert.ok(pointer);
          const client = traffic.client();
          const pool = new SimplePool();
          const signer = BunkerSigner.fromBunker(client.secretKey, pointer, { pool });
          const pair = {
            authorization,
            bunkerPubkey: String(authorization.bunker_pubkey),
            userPubkey: String(authorization.user_pubkey),
            client,
          };
          signers.push({ pair, signer, pool });
        }
        await deadline(Promise.all(signers.map(({ signer }) => signer.connect())), 30_000);
        const signed = await deadline(
          Promise.all(
            signers.flatMap(({ signer }, s) =>
              Array.from({ length: 10 }, (_, i) =>
                signer.signEvent({
                  kind: 1,
                  created_at: Math.floor(Date.now() / 1000),
                  tags: [],
                  content: `cluster ${s * 10 + i}`,
                }))
            ),
          ),
          60_000,
        );
        assert.equal(signed.length, 300);
        // Any second answer would come from another instance about as fast as the first.
        await sleep(QUIET_MS);
        assert.deepEqual(traffic.unreadable, []);
        assert.deepEqual(traffic.refused, []);
        const counts = [...traffic.replies.values()].map((list) => list.length);
        assert.equal(
          counts.length,
          330,
          "distinct requests answered (30 connect + 300 sign_event)",
        );
        assert.deepEqual(counts.filter((n) => n !== 1), [], "requests answered more than once");
        assert.equal(traffic.replyEvents, 330, "reply events on the relays");
        const byBunker = new Map(signers.map(({ pair }) => [
          `${pair.bunkerPubkey}:${pair.client.pubkey}`,
          pair.userPubkey,
        ]));
        let valid = 0;
        for (const [key, [reply]] of traffic.replies) {
          const userPubkey = byBunker.get(key.split(":").slice(0, 2).join(":"))!;
          if (reply!.result === "ack") continue;
          assert.ok(validSignature(reply!.result, userPubkey), `invalid reply ${reply!.result}`);
          valid++;
        }
        assert.equal(valid, 300);
        assertNeverFenced(cluster);
      });

      await t.step(
        "a revocation through instance 1 is honoured by instance 2, the owner",
        async () => {
          const target = signers.find(({ pair }) => owners.get(pair.bunkerPubkey) === 2)!.pair;
          const revoked = await cluster.api(
            1,
            "DELETE",
            `/api/authorizations/${target.authorization.id}`,
          );
          assert.equal(revoked.status, 200, JSON.stringify(revoked.body));
          const revokedAt = Date.now();
          const sent: SentRequest[] = [];
          for (let i = 0; i < 15; i++) {
            sent.push(
              traffic.send(target.client, target.bunkerPubkey, "sign_event", [template(i)]),
            );
            await sleep(200);
          }
          await traffic.answered(sent.slice(-5), 10_000);
          await sleep(QUIET_MS / 2);
          const first = sent.findIndex((request) =>
            /^revoked: /.test(traffic.repliesTo(request)[0]?.error ?? "")
          );
          assert.ok(first >= 0, "no request got a revoked reply");
          assert.ok(
            sent[first]!.sentAt - revokedAt < 1_500,
            `the first revoked reply answered a request sent ${
              sent[first]!.sentAt - revokedAt
            } ms ` +
              "after the revocation",
          );
          for (const request of sent.slice(first)) {
            const replies = traffic.repliesTo(request);
            assert.equal(replies.length, 1, `${request.key}: ${JSON.stringify(replies)}`);
            assert.match(replies[0]!.error ?? "", /^revoked: /);
          }
          for (const request of sent) assert.ok(traffic.repliesTo(request).length <= 1);
        },
      );
    } finally {
      for (const { signer } of signers) await signer.close().catch(() => {});
      for (const { pool } of signers) pool.destroy();
    }
  },
);

clusterTest(
  "cluster: kill -9 of an instance under load: the others answer its bunkers after the lease",
  async () => {
    await using cluster = await TestCluster.start({ leaseSeconds: LEASE_SECONDS });
    const { authorizations, bunkers, owners } = await prepared(cluster);
    await using traffic = await Traffic.open(cluster.relays.map((relay) => relay.url), bunkers);
    const pairs = await connectAll(traffic, authorizations);

    const load = new SteadyLoad(traffic, pairs, 60_000);
    let killedAt = 0;
    try {
      await sleep(1_500);
      killedAt = Date.now();
      await cluster.stopNode(0, "SIGKILL");
      await sleep(TAKEOVER_BOUND_MS + 3_000);
    } finally {
      await load.stop();
    }
    const afterKill = load.sent.filter((request) => request.sentAt > killedAt);
    const late = afterKill.filter((request) => request.sentAt >= killedAt + TAKEOVER_BOUND_MS);
    const orphaned = late.filter((request) => owners.get(request.bunkerPubkey) === 0);
    assert.ok(orphaned.length > 0, "no request went to a bunker of the killed instance");
    // Bunkers the survivors owned all along never go unanswered.
    const kept = afterKill.filter((request) => owners.get(request.bunkerPubkey) !== 0);
    await traffic.answered([...late, ...kept], 15_000);
    await sleep(QUIET_MS);
    assertExactlyOnce(traffic, load, [...late, ...kept], "after the lease bound");

    const ids = await cluster.settled();
    assert.equal(ids.size, 2);
    const metrics = await cluster.metrics(1) + await cluster.metrics(2);
    assert.match(metrics, /keycast_cluster_lease_expiries_total [1-9]/);
  },
);

clusterTest(
  "cluster: a rolling restart of all three instances under load loses no request",
  async () => {
    await using cluster = await TestCluster.start({ leaseSeconds: LEASE_SECONDS });
    const { authorizations, bunkers } = await prepared(cluster);
    await using traffic = await Traffic.open(cluster.relays.map((relay) => relay.url), bunkers);
    const pairs = await connectAll(traffic, authorizations);

    const load = new SteadyLoad(traffic, pairs, 120_000);
    try {
      await sleep(1_000);
      for (const index of [0, 1, 2]) {
        assert.equal(await cluster.stopNode(index, "SIGTERM"), 0, `instance ${index} exit code`);
        await cluster.startNode(index);
        await cluster.ready(index);
      }
      await sleep(1_500);
    } finally {
      await load.stop();
    }
    await traffic.answered(load.sent, 15_000).catch(() => {});
    await sleep(QUIET_MS);
    assertExactlyOnce(traffic, load, load.sent, "across the rolling restart");
    const ids = await cluster.settled();
    assert.equal(ids.size, 3);
  },
);

clusterTest(
  "cluster: an instance cut from PostgreSQL fences itself; the others take over and no request is answered twice",
  async (t) => {
    await using cluster = await TestCluster.start({ leaseSeconds: LEASE_SECONDS, proxied: [0] });
    const { authorizations, bunkers, owners } = await prepared(cluster);
    await using traffic = await Traffic.open(cluster.relays.map((relay) => relay.url), bunkers);
    const pairs = await connectAll(traffic, authorizations);
    const proxy = cluster.proxy!;

    const load = new SteadyLoad(traffic, pairs, 120_000);
    let cutAt = 0;
    let restoredAt = 0;
    let settledAt = 0;
    try {
      await sleep(1_000);
      await t.step("cut: instance 0 fences itself within its lease", async () => {
        assertNeverFenced(cluster);
        cutAt = Date.now();
        await proxy.cut();
        await eventually("instance 0 reports itself fenced", async () => {
          const { body } = await cluster.health(0);
          return body.cluster.fenced === true;
        }, { timeoutMs: LEASE_MS + 2_000, intervalMs: 50 });
        // The fence must fall before the others take the lease as passed.
        const fencedAt = cluster.loggedAt(0, "The cluster lease ran out", cutAt)!;
        await eventually("the others take the lease as passed", () => {
          return cluster.loggedAt(1, "lease passed", cutAt) !== undefined ||
            cluster.loggedAt(2, "lease passed", cutAt) !== undefined;
        }, { timeoutMs: LEASE_MS + 2_000, intervalMs: 50 });
        const takenAt = Math.min(
          ...[1, 2].map((index) => cluster.loggedAt(index, "lease passed", cutAt) ?? Infinity),
        );
        assert.ok(
          fencedAt < takenAt,
          `fenced ${fencedAt - cutAt} ms after the cut, taken over after ${takenAt - cutAt} ms`,
        );
        assert.equal((await cluster.health(0, { ready: true })).status, 503);
        assert.match(await cluster.metrics(0), /keycast_cluster_fenced 1/);
      });
      await t.step("the others take its bunkers over", async () => {
        await sleep(Math.max(0, cutAt + TAKEOVER_BOUND_MS + 3_000 - Date.now()));
        for (const index of [1, 2]) {
          const { body } = await cluster.health(index);
          assert.equal(body.cluster.instances, 2, `instance ${index} still sees instance 0`);
        }
        // Instance 0 still heard requests (it watched every bunker it made) and answered none.
        assert.match(await cluster.metrics(0), /keycast_cluster_claim_failures_total [1-9]/);
      });
      await t.step("restore: instance 0 joins again and serves within seconds", async () => {
        restoredAt = Date.now();
        proxy.restore();
        // Within a few heartbeats and reconnects, not after postgres.js's backoff of up to 20 s.
        await cluster.settled(10_000);
        settledAt = Date.now();
        await sleep(2_000);
      });
    } finally {
      await load.stop();
    }
    const fencedWindow = load.sent.filter((request) =>
      request.sentAt >= cutAt + TAKEOVER_BOUND_MS && request.sentAt < restoredAt
    );
    const rejoined = load.sent.filter((request) => request.sentAt >= settledAt);
    assert.ok(
      fencedWindow.some((request) => owners.get(request.bunkerPubkey) === 0),
      "no request went to a bunker of the fenced instance",
    );
    await traffic.answered([...fencedWindow, ...rejoined], 15_000).catch(() => {});
    await sleep(QUIET_MS);
    assertExactlyOnce(traffic, load, [...fencedWindow, ...rejoined], "fenced and after");
  },
);
