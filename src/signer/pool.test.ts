// Run with --unstable-worker-options: the pool starts its workers with `permissions: "none"`.
// Each test awaits pool.ready() first: under `deno test` a worker type-checks its module graph when
// it starts, which can take seconds on a cold cache and must not count against job deadlines.
import assert from "node:assert/strict";
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from "nostr-tools/pure";
import type { LogRecord } from "../log.ts";
import { decrypt as decryptNip49 } from "nostr-tools/nip49";
import { Vault } from "../vault/vault.ts";
import {
  DecryptError,
  InvalidEventError,
  InvalidJobError,
  OverloadedError,
  SignerClosedError,
  SignerTimeoutError,
  WorkerCrashedError,
  WorkerProtocolError,
} from "./errors.ts";
import { SignerPool, workerIndexFor } from "./pool.ts";
import {
  clientEncrypt,
  clientRequest,
  openReply,
  sealedKey,
  TEST_MASTER_KEY,
  type TestKey,
} from "./testing.ts";

const vault = await Vault.create(TEST_MASTER_KEY);
const bunker: TestKey = await sealedKey(vault);
const user: TestKey = await sealedKey(vault);
const template = { kind: 1, created_at: 1_700_000_000, tags: [], content: "hi" };

/** A client key whose (bunker, client) pair routes to worker `index` of `workers`. */
function clientRoutedTo(index: number, workers: number): Uint8Array {
  for (let attempt = 0; attempt < 200; attempt++) {
    const secret = generateSecretKey();
    if (workerIndexFor(bunker.pubkey, getPublicKey(secret), workers) === index) return secret;
  }
  throw new Error(`No client key routed to worker ${index} in 200 attempts`);
}

Deno.test("SignerPool.unwrapRequest() verifies and decrypts NIP-44 and NIP-04 requests in workers", async () => {
  await using pool = new SignerPool({ masterKey: TEST_MASTER_KEY, workers: 2 });
  await pool.ready();
  const clientSecret = generateSecretKey();
  for (const scheme of ["nip44", "nip04"] as const) {
    const message = { id: `r-${scheme}`, method: "get_public_key", params: [] };
    const event = clientRequest(clientSecret, bunker.pubkey, message, scheme);
    const unwrapped = await pool.unwrapRequest({ bunker: bunker.ref, event });
    assert.equal(unwrapped.scheme, scheme);
    assert.equal(unwrapped.clientPubkey, getPublicKey(clientSecret));
    assert.deepEqual(JSON.parse(unwrapped.plaintext), message);
  }
  const good = clientRequest(clientSecret, bunker.pubkey, { id: "1", method: "ping", params: [] });
  const badSig = { ...good, sig: good.sig.replace(/^./, good.sig[0] === "a" ? "b" : "a") };
  await assert.rejects(
    pool.unwrapRequest({ bunker: bunker.ref, event: badSig }),
    InvalidEventError,
  );
  const forged = finalizeEvent({
    ...template,
    kind: 24133,
    tags: [["p", bunker.pubkey]],
    content: clientEncrypt("nip44", clientSecret, user.pubkey, "for someone else"),
  }, clientSecret);
  await assert.rejects(pool.unwrapRequest({ bunker: bunker.ref, event: forged }), DecryptError);
  assert.equal(pool.stats().completed, 4);
});

Deno.test("SignerPool.respond() signs an event and replies in one round trip the client can read", async () => {
  await using pool = new SignerPool({
    masterKey: TEST_MASTER_KEY,
    workers: 2,
    now: () => 1_700_000_999_000,
  });
  await pool.ready();
  const clientSecret = generateSecretKey();
  const clientPubkey = getPublicKey(clientSecret);
  const reply = await pool.respond({
    bunker: bunker.ref,
    clientPubkey,
    scheme: "nip44",
    requestId: "abc123-7",
    action: {
      type: "sign_event",
      user: user.ref,
      template: { ...template, pubkey: "ff", sig: "00" },
    },
  });
  assert.equal(reply.event.created_at, 1_700_000_999);
  const opened = openReply(reply.event, clientSecret, bunker.pubkey, "nip44");
  assert.equal(opened.id, "abc123-7");
  const signed = JSON.parse(opened.result);
  assert.ok(verifyEvent(signed));
  assert.equal(signed.pubkey, user.pubkey);
  assert.equal(signed.created_at, template.created_at);
  const auth = await pool.signWithKey({ key: bunker.ref, template: { ...template, kind: 22242 } });
  assert.ok(verifyEvent({ ...auth }));
  await assert.rejects(
    pool.signWithKey({ key: { pubkey: "nope", sealed: "" }, template }),
    InvalidJobError,
  );
  await assert.rejects(pool.debugOp({ op: "crash" }, 0), InvalidJobError);
  const performed = await pool.perform({ type: "sign_event", user: user.ref, template });
  assert.ok(verifyEvent(JSON.parse(performed.result)), "perform() signs without an envelope");
});

Deno.test("SignerPool starts its workers without any permission", async () => {
  await using pool = new SignerPool({ masterKey: TEST_MASTER_KEY, workers: 1, debugOps: true });
  await pool.ready();
  const states = await pool.debugOp({ op: "permissions" }, 0);
  assert.deepEqual(Object.keys(states), [
    "net",
    "env",
    "read",
    "write",
    "run",
    "ffi",
    "sys",
    "import",
  ]);
  for (const [name, state] of Object.entries(states)) assert.notEqual(state, "granted", name);
});

Deno.test("SignerPool rejects a malformed worker result with WorkerProtocolError and keeps working", async () => {
  const records: LogRecord[] = [];
  await using pool = new SignerPool({
    masterKey: TEST_MASTER_KEY,
    workers: 1,
    debugOps: true,
    log: (record) => records.push(record),
  });
  await pool.ready();
  await assert.rejects(
    pool.debugOp({ op: "garbage" }, 0),
    (error: unknown) =>
      error instanceof WorkerProtocolError &&
      error.message === 'Cannot accept the result of signer job "garbage": the value must be null',
  );
  assert.deepEqual(
    records.map(({ level, msg, worker, op }) => ({ level, msg, worker, op })),
    [{ level: "warn", msg: "Rejected a malformed worker result", worker: 0, op: "garbage" }],
  );
  const stats = pool.stats();
  assert.deepEqual([stats.busy, stats.crashes, stats.completed, stats.workers], [0, 0, 1, 1]);
  assert.ok(verifyEvent({ ...(await pool.signWithKey({ key: user.ref, template })) }));
  assert.equal(await pool.debugOp({ op: "stall", ms: 0 }, 0), null);
});

Deno.test("SignerPool refuses a job with OverloadedError when the wait queue is full and counts it", async () => {
  await using pool = new SignerPool({
    masterKey: TEST_MASTER_KEY,
    workers: 1,
    maxQueue: 1,
    debugOps: true,
  });
  await pool.ready();
  const stall = pool.debugOp({ op: "stall", ms: 300 }, 0);
  const queued = pool.signWithKey({ key: user.ref, template });
  assert.deepEqual([pool.stats().busy, pool.stats().queueDepth], [1, 1]);
  await assert.rejects(pool.signWithKey({ key: user.ref, template }), OverloadedError);
  await assert.rejects(
    pool.perform({ type: "sign_event", user: user.ref, template }),
    OverloadedError,
    "HTTP signing shares the lane",
  );
  assert.equal(pool.stats().dropped, 2);
  // The reserved lane still answers the refused request, so the client hears back.
  const clientSecret = generateSecretKey();
  const request = clientRequest(clientSecret, bunker.pubkey, {
    id: "r-1",
    method: "ping",
    params: [],
  });
  const rejection = pool.rejectRequest({
    bunker: bunker.ref,
    event: request,
    error: "overloaded: retry later",
  });
  assert.equal(pool.stats().reserved, 1);
  const reply = await rejection;
  assert.ok(reply);
  assert.equal(reply.requestId, "r-1", "the request id crosses the worker boundary");
  assert.deepEqual(openReply(reply.event, clientSecret, bunker.pubkey, "nip44"), {
    id: "r-1",
    result: "",
    error: "overloaded: retry later",
  });
  assert.equal(await stall, null);
  assert.ok(verifyEvent({ ...(await queued) }));
  assert.deepEqual([pool.stats().busy, pool.stats().queueDepth, pool.stats().dropped], [0, 0, 2]);
});

Deno.test("SignerPool records how long each job waited for a worker, by its clock, and reports the queue capacity", async () => {
  let nowMs = 1_700_000_000_000;
  await using pool = new SignerPool({
    masterKey: TEST_MASTER_KEY,
    workers: 1,
    maxQueue: 3,
    debugOps: true,
    now: () => nowMs,
  });
  await pool.ready();
  assert.equal(pool.stats().queueCapacity, 3);
  assert.deepEqual(pool.stats().queueWait.count, 0);
  const stall = pool.debugOp({ op: "stall", ms: 100 }, 0);
  await new Promise((resolve) => setTimeout(resolve, 0)); // the stall holds the permit now
  const queued = pool.signWithKey({ key: user.ref, template });
  assert.equal(pool.stats().queueDepth, 1);
  nowMs += 30;
  assert.equal(await stall, null);
  assert.ok(verifyEvent({ ...(await queued) }));
  const wait = pool.stats().queueWait;
  assert.equal(wait.count, 2);
  assert.equal(wait.sum, 0.03);
  assert.deepEqual(wait.bounds.slice(0, 6), [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05]);
  assert.deepEqual(wait.cumulative.slice(0, 6), [1, 1, 1, 1, 1, 2], "0 s and 30 ms");
  assert.equal(wait.cumulative.at(-1), 2);
});

Deno.test("SignerPool times out a job that runs too long, replaces the hung worker and keeps working", async () => {
  await using pool = new SignerPool({
    masterKey: TEST_MASTER_KEY,
    workers: 1,
    jobTimeoutMs: 1_500,
    debugOps: true,
  });
  await pool.ready(); // worker startup must not count against the short deadline below
  const started = performance.now();
  const stall = pool.debugOp({ op: "stall", ms: 10_000 }, 0);
  const queued = pool.signWithKey({ key: user.ref, template });
  await assert.rejects(stall, SignerTimeoutError);
  await assert.rejects(queued, SignerTimeoutError);
  assert.ok(performance.now() - started < 6_000, "the deadline, not the 10 s stall, ended the job");
  const stats = pool.stats();
  assert.equal(stats.timeouts, 2);
  assert.equal(stats.crashes, 1);
  await pool.ready();
  const event = await pool.signWithKey({ key: user.ref, template });
  assert.ok(verifyEvent({ ...event }));
});

Deno.test("SignerPool replaces a crashed worker and rejects every job it held", async () => {
  await using pool = new SignerPool({ masterKey: TEST_MASTER_KEY, workers: 2, debugOps: true });
  await pool.ready();
  const clientSecret = clientRoutedTo(0, 2);
  const event = clientRequest(clientSecret, bunker.pubkey, { id: "1", method: "ping", params: [] });
  const crash = pool.debugOp({ op: "crash" }, 0);
  const held = pool.unwrapRequest({ bunker: bunker.ref, event });
  await assert.rejects(crash, WorkerCrashedError);
  await assert.rejects(held, WorkerCrashedError);
  assert.equal(pool.stats().crashes, 1);
  assert.equal(pool.stats().busy, 0);
  await pool.ready();
  const again = await pool.unwrapRequest({ bunker: bunker.ref, event });
  assert.equal(again.clientPubkey, getPublicKey(clientSecret));
  assert.equal(pool.stats().workers, 2);
});

Deno.test("SignerPool.close() rejects running and queued jobs and terminates every worker it started", async () => {
  // The resource sanitizer does not see workers, so count them: every one created must be terminated.
  const created: Worker[] = [];
  const terminated = new Set<Worker>();
  const OriginalWorker = globalThis.Worker;
  globalThis.Worker = class TrackedWorker extends OriginalWorker {
    constructor(...args: ConstructorParameters<typeof Worker>) {
      super(...args);
      created.push(this);
    }
    override terminate(): void {
      terminated.add(this);
      super.terminate();
    }
  };
  try {
    const pool = new SignerPool({ masterKey: TEST_MASTER_KEY, workers: 2, debugOps: true });
    await pool.ready();
    await assert.rejects(pool.debugOp({ op: "crash" }, 1), WorkerCrashedError);
    const running = pool.debugOp({ op: "stall", ms: 2_000 }, 0);
    const alsoRunning = pool.debugOp({ op: "stall", ms: 2_000 }, 1);
    const queued = pool.signWithKey({ key: user.ref, template });
    await pool.close();
    for (const job of [running, alsoRunning, queued]) await assert.rejects(job, SignerClosedError);
    await assert.rejects(pool.signWithKey({ key: user.ref, template }), SignerClosedError);
    assert.deepEqual(pool.stats(), {
      workers: 0,
      busy: 0,
      queueDepth: 0,
      queueCapacity: 1024,
      queueWait: pool.stats().queueWait,
      dropped: 0,
      reserved: 0,
      reservedDropped: 0,
      crashes: 1,
      completed: 0,
      timeouts: 0,
    });
    await pool.close();
  } finally {
    globalThis.Worker = OriginalWorker;
  }
  assert.equal(created.length, 3, "two workers and one replacement");
  assert.ok(created.every((worker) => terminated.has(worker)), "a worker was left running");
});

Deno.test("new SignerPool() rejects invalid options before starting any worker", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ masterKey: new Uint8Array(16) }, /master key must be 32 bytes/],
    [{ workers: 0 }, /workers "0"/],
    [{ workers: 1.5 }, /workers "1.5"/],
    [{ maxQueue: -1 }, /maxQueue "-1"/],
    [{ jobTimeoutMs: 0 }, /jobTimeoutMs "0"/],
  ];
  for (const [options, message] of cases) {
    assert.throws(() => new SignerPool({ masterKey: TEST_MASTER_KEY, ...options }), message);
  }
});

Deno.test("workerIndexFor() is deterministic per pair and spreads pairs over workers", () => {
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 400; i++) {
    const peer = i.toString(16).padStart(64, "0");
    const index = workerIndexFor(bunker.pubkey, peer, 4);
    assert.equal(workerIndexFor(bunker.pubkey, peer, 4), index);
    counts[index]!++;
  }
  for (const count of counts) assert.ok(count > 50, `uneven spread: ${counts.join(",")}`);
});

Deno.test("SignerPool replaces a worker whose module fails to load (its error event)", async () => {
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--quiet",
      "--allow-read",
      "--unstable-worker-options",
      new URL("./testdata/unloadable_pool.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  const result = JSON.parse(new TextDecoder().decode(output.stdout));
  assert.equal(result.error, "WorkerCrashedError");
  assert.ok(result.crashes >= 1);
  assert.match(result.reasons[0], /^crashed: .*failed to load on purpose/);
});

Deno.test("SignerPool generates keys and exports them as ncryptsec in its workers", async () => {
  await using pool = new SignerPool({ masterKey: TEST_MASTER_KEY, workers: 1 });
  await pool.ready();
  const generated = await pool.generateKey();
  assert.equal(
    getPublicKey(await vault.open(generated.sealed, generated.pubkey)),
    generated.pubkey,
  );
  const ncryptsec = await pool.exportKey({
    key: { pubkey: generated.pubkey, sealed: generated.sealed },
    password: "a long export password",
    logN: 16,
  });
  assert.equal(getPublicKey(decryptNip49(ncryptsec, "a long export password")), generated.pubkey);
});
