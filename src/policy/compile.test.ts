import assert from "node:assert/strict";
import { compilePolicy } from "./compile.ts";
import { BUILTIN_POLICIES, DANGEROUS_KINDS } from "./document.ts";
import type { PolicyRequest } from "./rule.ts";

const USER = "1".repeat(64);
const PEER = "e".repeat(64);
const ctx = { now: 0 };
const req = (method: string, fields: Partial<PolicyRequest> = {}): PolicyRequest => ({
  method,
  clientPubkey: "c".repeat(64),
  userPubkey: USER,
  ...fields,
});
const sign = (kind: number, content = "gm") => req("sign_event", { kind, content });
const reasonOf = (doc: unknown, request: PolicyRequest) => {
  const verdict = compilePolicy(doc).check(request, ctx);
  return verdict.allow ? undefined : verdict.reason;
};

Deno.test("compilePolicy(null) allows everything but the dangerous kinds", () => {
  for (const doc of [null, undefined, {}]) {
    assert.equal(reasonOf(doc, sign(1)), undefined);
    assert.equal(reasonOf(doc, sign(30023)), undefined);
    assert.equal(
      reasonOf(doc, req("nip44_encrypt", { counterparty: PEER, content: "hi" })),
      undefined,
    );
    for (const kind of DANGEROUS_KINDS) {
      assert.match(reasonOf(doc, sign(kind)) ?? "", /^forbidden: kind \d+ is a dangerous kind/);
    }
  }
});

Deno.test("compilePolicy() never throws on a malformed document and denies every request", () => {
  const cyclic: Record<string, unknown> = {};
  cyclic.kinds = [cyclic];
  const throwing = {
    get kinds(): unknown {
      throw new Error("boom");
    },
  };
  const docs = ["full", 42, [], { kinds: "1" }, { methods: ["x"], kinds: [-1] }, cyclic, throwing];
  for (const doc of docs) {
    const policy = compilePolicy(doc);
    assert.equal(policy.document, undefined);
    for (const request of [req("ping"), req("get_public_key"), sign(1)]) {
      const verdict = policy.check(request, ctx);
      assert.equal(verdict.allow, false);
      if (!verdict.allow) {
        assert.match(verdict.reason, /^forbidden: the authorization's policy is invalid \(.+\)$/);
      }
    }
  }
  assert.equal(
    reasonOf({ methods: ["x"], kinds: [-1] }, req("ping")),
    'forbidden: the authorization\'s policy is invalid (rules.methods[0]: cannot use "x": ' +
      "not a NIP-46 method keycast knows; and 1 more)",
  );
});

Deno.test("compilePolicy() opts in to a dangerous kind with allow_dangerous_kinds", () => {
  const doc = { allow_dangerous_kinds: [3] };
  assert.equal(reasonOf(doc, sign(3)), undefined);
  assert.match(reasonOf(doc, sign(0)) ?? "", /^forbidden: kind 0 is a dangerous kind/);
  // With a kinds list, the opted-in kind must also be listed.
  assert.match(reasonOf({ kinds: [1], allow_dangerous_kinds: [3] }, sign(3)) ?? "", /not allowed/);
  assert.equal(reasonOf({ kinds: [1, 3], allow_dangerous_kinds: [3] }, sign(3)), undefined);
});

Deno.test("compilePolicy() keeps dangerous kinds denied inside an allowed range", () => {
  const doc = { kinds: [[0, 20000]] };
  assert.equal(reasonOf(doc, sign(1)), undefined);
  assert.equal(reasonOf(doc, sign(20000)), undefined);
  assert.match(reasonOf(doc, sign(10002)) ?? "", /dangerous/);
  assert.match(reasonOf(doc, sign(20001)) ?? "", /^forbidden: kind 20001 is not allowed/);
});

Deno.test("compilePolicy() checks every rule for every method", () => {
  const doc = {
    methods: ["sign_event", "nip44_encrypt"],
    encrypt_to_self: true,
    content: { blocked_words: ["casino"] },
  };
  assert.equal(
    reasonOf(doc, req("nip44_encrypt", { counterparty: USER, content: "note" })),
    undefined,
  );
  assert.match(
    reasonOf(doc, req("nip44_encrypt", { counterparty: USER, content: "casino" })) ?? "",
    /blocked word/,
  );
  assert.match(
    reasonOf(doc, req("nip44_encrypt", { counterparty: PEER, content: "x" })) ?? "",
    /own pubkey/,
  );
  assert.match(
    reasonOf(doc, req("nip04_encrypt", { counterparty: USER })) ?? "",
    /method "nip04_encrypt"/,
  );
  assert.match(reasonOf(doc, sign(1, "CASINO")) ?? "", /blocked word "casino"/);
  assert.match(
    reasonOf(doc, req("sign_event", { content: "x" })) ?? "",
    /^invalid: sign_event needs/,
  );
});

Deno.test("compilePolicy() applies rate limits first, so denied requests spend tokens too", () => {
  const policy = compilePolicy({ methods: [], rate_limits: { per_client: { per_minute: 2 } } });
  for (let i = 0; i < 2; i++) {
    const verdict = policy.check(sign(1), ctx);
    assert.equal(
      verdict.allow ? "" : verdict.reason,
      'forbidden: method "sign_event" is not allowed by this policy',
    );
  }
  const verdict = policy.check(req("ping"), ctx);
  assert.match(verdict.allow ? "" : verdict.reason, /^rate-limited: /);
  assert.equal(policy.check(req("ping"), { now: 30_000 }).allow, true);
});

Deno.test("compilePolicy() keeps rate-limit state inside one compiled policy", () => {
  const doc = { rate_limits: { per_method: { ping: { per_minute: 1 } } } };
  const first = compilePolicy(doc);
  assert.equal(first.check(req("ping"), ctx).allow, true);
  assert.equal(first.check(req("ping"), ctx).allow, false);
  assert.equal(compilePolicy(doc).check(req("ping"), ctx).allow, true);
});

Deno.test("the full built-in allows everything but the dangerous kinds", () => {
  const full = BUILTIN_POLICIES.full;
  assert.equal(reasonOf(full, sign(1)), undefined);
  assert.equal(reasonOf(full, sign(31234)), undefined);
  assert.equal(reasonOf(full, req("nip04_decrypt", { counterparty: PEER })), undefined);
  assert.match(reasonOf(full, sign(0)) ?? "", /dangerous/);
  assert.match(reasonOf(full, sign(27235)) ?? "", /dangerous/);
});

Deno.test("the social built-in signs social kinds and encrypts, nothing dangerous", () => {
  const social = BUILTIN_POLICIES.social;
  for (const kind of [1, 4, 6, 7, 14, 1111, 9734, 30023]) {
    assert.equal(reasonOf(social, sign(kind)), undefined, `kind ${kind}`);
  }
  for (const kind of [0, 3, 5, 10002, 22242, 30078]) {
    assert.match(reasonOf(social, sign(kind)) ?? "", /^forbidden: kind/, `kind ${kind}`);
  }
  for (const method of ["nip04_encrypt", "nip44_encrypt", "nip04_decrypt", "nip44_decrypt"]) {
    assert.equal(reasonOf(social, req(method, { counterparty: PEER })), undefined, method);
  }
  const policy = compilePolicy(social);
  let allowed = 0;
  for (let i = 0; i < 200; i++) if (policy.check(req("ping"), ctx).allow) allowed++;
  assert.equal(allowed, 120);
});

Deno.test("the read-only built-in decrypts but neither signs nor encrypts", () => {
  const readOnly = BUILTIN_POLICIES["read-only"];
  for (
    const method of ["connect", "ping", "get_public_key", "switch_relays", "get_relays", "logout"]
  ) {
    assert.equal(reasonOf(readOnly, req(method)), undefined, method);
  }
  assert.equal(reasonOf(readOnly, req("nip04_decrypt", { counterparty: PEER })), undefined);
  assert.equal(reasonOf(readOnly, req("nip44_decrypt", { counterparty: PEER })), undefined);
  for (
    const request of [
      sign(1),
      req("nip44_encrypt", { counterparty: PEER }),
      req("nip04_encrypt", { counterparty: PEER }),
    ]
  ) {
    assert.match(reasonOf(readOnly, request) ?? "", /^forbidden: method/);
  }
});
