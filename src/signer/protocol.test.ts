import assert from "node:assert/strict";
import { generateSecretKey, getPublicKey } from "nostr-tools/pure";
import { Vault } from "../vault/vault.ts";
import { SignerCore } from "./core.ts";
import { WorkerProtocolError } from "./errors.ts";
import {
  type Job,
  type JobOp,
  parseFromWorker,
  parseToWorker,
  type ReplyAction,
} from "./protocol.ts";
import { parseJobResult } from "./results.ts";
import { clientRequest, sealedKey, TEST_MASTER_KEY } from "./testing.ts";

const vault = await Vault.create(TEST_MASTER_KEY);
const core = new SignerCore(vault);
const bunker = await sealedKey(vault);
const user = await sealedKey(vault);
const clientSecret = generateSecretKey();
const clientPubkey = getPublicKey(clientSecret);
const request = clientRequest(clientSecret, bunker.pubkey, { id: "r-1", method: "ping" });
const template = { kind: 1, created_at: 1_700_000_000, tags: [["t", "x"]], content: "hi" };

/** Real results of every answering op, produced by SignerCore the way a worker produces them. */
async function realResults(): Promise<[JobOp, unknown][]> {
  const respondJob = {
    bunker: bunker.ref,
    clientPubkey,
    scheme: "nip04" as const,
    requestId: "r-2",
    createdAt: 1_700_000_001,
  };
  const noId = clientRequest(clientSecret, bunker.pubkey, { method: "ping" });
  return [
    ["unwrap", await core.unwrap({ bunker: bunker.ref, event: request })],
    ["respond", await core.respond({ ...respondJob, action: { type: "result", result: "pong" } })],
    ["respond", await core.respond({ ...respondJob, action: { type: "error", error: "no" } })],
    ["reject", await core.reject({ bunker: bunker.ref, event: request, error: "x", createdAt: 7 })],
    ["reject", await core.reject({ bunker: bunker.ref, event: noId, error: "x", createdAt: 7 })],
    ["sign", await core.signWithKey(user.ref, template)],
    ["perform", await core.perform({ type: "sign_event", user: user.ref, template })],
    ["perform", await core.perform({ type: "sign_event", user: user.ref, template: "{not" })],
    ["stall", null],
    ["garbage", null],
    ["permissions", { net: "prompt", env: "denied", read: "granted" }],
  ];
}

/** Structured clone, as `postMessage` delivers a value. */
function cloned<T>(value: T): T {
  return structuredClone(value);
}

Deno.test("parseJobResult() accepts the real result of every op and returns an equal copy", async () => {
  const results = await realResults();
  assert.deepEqual(results.filter(([, value]) => value === undefined).map(([op]) => op), [
    "reject",
  ]);
  for (const [op, value] of results) {
    const parsed = parseJobResult(op, cloned(value));
    assert.deepEqual(parsed, value, op);
    if (value !== null && value !== undefined) assert.notEqual(parsed, value, `${op} is copied`);
  }
  const reply = await core.respond({
    bunker: bunker.ref,
    clientPubkey,
    scheme: "nip44",
    requestId: "r-3",
    action: { type: "auth_url", url: "https://auth.example/x" },
    createdAt: 1,
  });
  const parsed = parseJobResult("respond", cloned(reply));
  assert.deepEqual(Object.keys(parsed.event), Object.keys(reply.event), "NIP-01 field order");
  assert.deepEqual(Object.keys(parseJobResult("respond", { ...reply, error: undefined })), [
    "event",
    "result",
  ]);
});

Deno.test("parseJobResult() rejects every malformed field with WorkerProtocolError", async () => {
  const unwrapped = await core.unwrap({ bunker: bunker.ref, event: request });
  const reply = await core.reject({
    bunker: bunker.ref,
    event: request,
    error: "x",
    createdAt: 7,
  });
  assert.ok(reply);
  const signed = await core.signWithKey(user.ref, template);
  const cases: [JobOp, unknown, RegExp][] = [
    ["unwrap", "nonsense", /"unwrap": expected an object/],
    ["unwrap", [unwrapped], /expected an object/],
    ["unwrap", { ...unwrapped, clientPubkey: "ab" }, /clientPubkey must be 64 lowercase hex/],
    ["unwrap", { ...unwrapped, clientPubkey: clientPubkey.toUpperCase() }, /clientPubkey/],
    ["unwrap", { ...unwrapped, scheme: "nip17" }, /scheme must be "nip44" or "nip04"/],
    ["unwrap", { ...unwrapped, plaintext: 1 }, /plaintext must be a string/],
    ["unwrap", { ...unwrapped, eventId: undefined }, /eventId must be 64 lowercase hex/],
    ["unwrap", { ...unwrapped, createdAt: 1.5 }, /createdAt must be a non-negative integer/],
    ["unwrap", { ...unwrapped, createdAt: -1 }, /createdAt/],
    ["respond", null, /"respond": expected an object/],
    ["respond", { ...reply, result: undefined }, /result must be a string/],
    ["respond", { ...reply, error: 0 }, /error must be a string or absent/],
    ["respond", { ...reply, event: "{}" }, /reply event is malformed/],
    ["respond", { ...reply, event: { ...reply.event, id: "00" } }, /event id "00"/],
    ["respond", { ...reply, event: { ...reply.event, pubkey: undefined } }, /event pubkey/],
    ["respond", { ...reply, event: { ...reply.event, sig: reply.event.id } }, /event sig/],
    ["respond", { ...reply, event: { ...reply.event, kind: "24133" } }, /event kind/],
    ["respond", { ...reply, event: { ...reply.event, created_at: null } }, /event created_at/],
    ["respond", { ...reply, event: { ...reply.event, tags: [["p", 1]] } }, /event tag 0/],
    ["respond", { ...reply, event: { ...reply.event, content: {} } }, /event content/],
    ["reject", null, /"reject": expected an object/],
    ["reject", { ...reply, result: 1 }, /result must be a string/],
    ["reject", { ...reply, requestId: undefined }, /requestId must be a string/],
    ["reject", { ...reply, requestId: 7 }, /requestId must be a string/],
    ["perform", "pong", /"perform": expected an object/],
    ["perform", { result: "" }, /result must be non-empty when there is no error/],
    ["perform", { result: 1 }, /result must be a string/],
    ["perform", { result: "", error: "" }, /error must be a non-empty string or absent/],
    ["sign", undefined, /"sign": the signed event is malformed/],
    ["sign", { ...signed, sig: "zz" }, /event sig "zz"/],
    ["generate", { pubkey: "x", sealed: "s" }, /"generate": pubkey/],
    ["generate", { pubkey: clientPubkey, sealed: "" }, /sealed/],
    ["export", "nsec1abc", /"export": the value must be an ncryptsec1 string/],
    ["stall", "nonsense", /"stall": the value must be null/],
    ["stall", undefined, /the value must be null/],
    ["garbage", "nonsense", /"garbage": the value must be null/],
    ["permissions", null, /"permissions": expected an object/],
    ["permissions", { net: "granted", env: "maybe" }, /permission "env" must be a permission/],
    ["crash", null, /"crash": the op never answers/],
  ];
  for (const [op, value, message] of cases) {
    assert.throws(
      () => parseJobResult(op, value),
      (error: unknown) => error instanceof WorkerProtocolError && message.test(error.message),
      `${op}: ${message}`,
    );
  }
  assert.throws(
    () => parseJobResult("unwrap", { ...unwrapped, plaintext: 1 }),
    (error: unknown) =>
      error instanceof WorkerProtocolError && error.code === "worker_protocol" &&
      !error.message.includes(unwrapped.eventId),
  );
});

const respondFields = {
  op: "respond",
  bunker: bunker.ref,
  clientPubkey,
  scheme: "nip44",
  requestId: "r-1",
  createdAt: 1_700_000_000,
} as const;
const actions = {
  result: { type: "result", result: "pong" },
  error: { type: "error", error: "no" },
  authUrl: { type: "auth_url", url: "https://auth.example/x" },
  signEvent: { type: "sign_event", user: user.ref, template },
  signEventText: { type: "sign_event", user: user.ref, template: "{not json" },
  encrypt: { type: "encrypt", scheme: "nip04", user: user.ref, peer: "xyz", plaintext: "hi" },
  decrypt: { type: "decrypt", scheme: "nip44", user: user.ref, peer: clientPubkey, ciphertext: "" },
} as const satisfies Record<string, ReplyAction>;
const jobs = {
  unwrap: { op: "unwrap", bunker: bunker.ref, event: request },
  reject: { op: "reject", bunker: bunker.ref, event: null, error: "overloaded", createdAt: 0 },
  sign: { op: "sign", key: user.ref, template },
  perform: { op: "perform", action: { type: "sign_event", user: user.ref, template } },
  generate: { op: "generate" },
  export: { op: "export", key: user.ref, password: "pw", logN: 16 },
  stall: { op: "stall", ms: 300 },
} as const satisfies Record<string, Job>;

Deno.test("parseToWorker() round-trips init and a job of every op and reply action", () => {
  const init = { type: "init", masterKey: TEST_MASTER_KEY, masterKeyId: 2, debugOps: true };
  assert.deepEqual(parseToWorker(cloned(init)), init);
  assert.deepEqual(parseToWorker({ ...init, debugOps: "yes" }), { ...init, debugOps: false });
  const everyJob: Job[] = [
    ...Object.values(jobs),
    ...Object.values(actions).map((action) => ({ ...respondFields, action })),
    { op: "crash" },
    { op: "permissions" },
    { op: "garbage" },
  ];
  for (const [index, job] of everyJob.entries()) {
    const message = cloned({ type: "job", id: index + 1, job });
    assert.deepEqual(parseToWorker(message), message, JSON.stringify(job).slice(0, 80));
  }
  const extra = { op: "sign", key: { ...user.ref, extra: 1 }, template, extra: 1 };
  assert.deepEqual(parseToWorker({ type: "job", id: 1, job: extra }), {
    type: "job",
    id: 1,
    job: jobs.sign,
  });
});

Deno.test("parseToWorker() rejects malformed envelopes and every malformed job field", () => {
  const respondWith = (action: unknown) => ({ ...respondFields, action });
  const malformedJobs: unknown[] = [
    undefined,
    null,
    [jobs.sign],
    { op: "explode" },
    { ...jobs.unwrap, bunker: undefined },
    { ...jobs.unwrap, bunker: { pubkey: bunker.pubkey } },
    { ...jobs.unwrap, bunker: { pubkey: 1, sealed: bunker.ref.sealed } },
    { ...respondWith(actions.result), bunker: [bunker.pubkey, bunker.ref.sealed] },
    { ...respondWith(actions.result), clientPubkey: undefined },
    { ...respondWith(actions.result), scheme: "nip17" },
    { ...respondWith(actions.result), requestId: 7 },
    { ...respondWith(actions.result), createdAt: "1700000000" },
    { ...respondWith(actions.result), createdAt: 1.5 },
    { ...respondWith(actions.result), createdAt: 2 ** 53 },
    respondWith(undefined),
    respondWith({ type: "shout", result: "x" }),
    respondWith({ ...actions.result, result: 1 }),
    respondWith({ ...actions.error, error: null }),
    respondWith({ ...actions.authUrl, url: undefined }),
    respondWith({ ...actions.signEvent, user: "key" }),
    respondWith({ ...actions.encrypt, scheme: 44 }),
    respondWith({ ...actions.encrypt, user: null }),
    respondWith({ ...actions.encrypt, peer: 1 }),
    respondWith({ ...actions.encrypt, plaintext: ["hi"] }),
    respondWith({ ...actions.decrypt, ciphertext: undefined }),
    { ...jobs.reject, bunker: null },
    { ...jobs.reject, error: undefined },
    { ...jobs.reject, createdAt: undefined },
    { ...jobs.sign, key: { sealed: user.ref.sealed } },
    { op: "perform", action: actions.result },
    { op: "perform", action: { ...actions.signEvent, user: "key" } },
    { op: "perform" },
    { ...jobs.stall, ms: "300" },
  ];
  for (const job of malformedJobs) {
    assert.equal(parseToWorker({ type: "job", id: 1, job }), undefined, JSON.stringify(job));
  }
  const malformedMessages: unknown[] = [
    undefined,
    "job",
    { type: "job", id: "1", job: jobs.sign },
    { type: "job", id: 1.5, job: jobs.sign },
    { type: "jab", id: 1, job: jobs.sign },
    { type: "init", masterKey: [...TEST_MASTER_KEY], masterKeyId: 1, debugOps: false },
    { type: "init", masterKey: TEST_MASTER_KEY, masterKeyId: "1", debugOps: false },
  ];
  for (const message of malformedMessages) {
    assert.equal(parseToWorker(message), undefined, JSON.stringify(message));
  }
});

Deno.test("parseFromWorker() keeps ok values unchecked and rebuilds errors", () => {
  assert.deepEqual(parseFromWorker({ type: "ready" }), { type: "ready" });
  assert.deepEqual(parseFromWorker({ type: "crashed", message: "Error: x", id: 1 }), {
    type: "crashed",
    message: "Error: x",
  });
  assert.deepEqual(parseFromWorker({ type: "result", id: 3, ok: true, value: "nonsense" }), {
    type: "result",
    id: 3,
    ok: true,
    value: "nonsense",
  });
  const error = { code: "decrypt", message: "Cannot decrypt" };
  assert.deepEqual(parseFromWorker({ type: "result", id: 3, ok: false, error, extra: 1 }), {
    type: "result",
    id: 3,
    ok: false,
    error,
  });
  for (
    const message of [
      null,
      { type: "result", id: "3", ok: true, value: 1 },
      { type: "result", id: 3, ok: false, error: { code: 1, message: "x" } },
      { type: "result", id: 3, ok: "no", error },
      { type: "crashed", message: 7 },
    ]
  ) {
    assert.equal(parseFromWorker(message), undefined, JSON.stringify(message));
  }
});
