import assert from "node:assert/strict";
import { compilePolicy } from "./compile.ts";
import { BUILTIN_POLICIES, DANGEROUS_KINDS } from "./document.ts";
import type { PolicyRequest } from "./rule.ts";

const USER = "1".repeat(64);
const PEER = "e".repeat(64);
const ctx = { now: 0 };
/** A server clock (ms) for the created_at tests: 1_700_000_000 s. */
const NOW = 1_700_000_000_000;
/** The kinds made dangerous by hardening item 5. */
const NEWLY_DANGEROUS = [
  62,
  443,
  1021,
  7374,
  7375,
  7376,
  9000,
  9001,
  9002,
  9005,
  9008,
  9009,
  9321,
  10006,
  10007,
  10011,
  10013,
  10019,
  10051,
  10063,
  10096,
  15128,
  17375,
  23196,
  23197,
  34128,
  35128,
  38383,
];
/** Kinds made dangerous since: NIP-34 repository announcement and state, the legacy Cashu wallet. */
const LATER_DANGEROUS = [30617, 30618, 37375];
const req = (method: string, fields: Partial<PolicyRequest> = {}): PolicyRequest => ({
  method,
  clientPubkey: "c".repeat(64),
  userPubkey: USER,
  ...fields,
});
const sign = (kind: number, content = "gm") => req("sign_event", { kind, content });
const reasonOf = (doc: unknown, request: PolicyRequest, now = ctx.now) => {
  const verdict = compilePolicy(doc).check(request, { now });
  return verdict.allow ? undefined : verdict.reason;
};
/** sign_event of a kind-1 note dated `ahead` seconds after NOW. */
const signAhead = (ahead: number) => req("sign_event", { kind: 1, createdAt: NOW / 1000 + ahead });

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

Deno.test("compilePolicy() denies the newly dangerous kinds unless the policy opts in", () => {
  for (const kind of [...NEWLY_DANGEROUS, ...LATER_DANGEROUS]) {
    assert.ok(DANGEROUS_KINDS.includes(kind), `kind ${kind}`);
    for (const doc of [null, {}, BUILTIN_POLICIES.full, { kinds: [[0, 65535]] }]) {
      assert.equal(
        reasonOf(doc, sign(kind)),
        `forbidden: kind ${kind} is a dangerous kind, which this policy does not allow ` +
          "(allow_dangerous_kinds)",
        `kind ${kind} under ${JSON.stringify(doc)}`,
      );
    }
    assert.equal(reasonOf({ allow_dangerous_kinds: [kind] }, sign(kind)), undefined, `${kind}`);
    assert.match(
      reasonOf({ kinds: [1], allow_dangerous_kinds: [kind] }, sign(kind)) ?? "",
      new RegExp(`^forbidden: kind ${kind} is not allowed by this policy$`),
    );
    assert.equal(
      reasonOf({ kinds: [1, kind], allow_dangerous_kinds: [kind] }, sign(kind)),
      undefined,
      `kind ${kind}`,
    );
  }
});

Deno.test("compilePolicy(null) bounds created_at to 15 minutes ahead of the clock", () => {
  for (const doc of [null, undefined, {}, BUILTIN_POLICIES.full, BUILTIN_POLICIES.social]) {
    assert.equal(reasonOf(doc, signAhead(15 * 60), NOW), undefined, JSON.stringify(doc));
    assert.equal(reasonOf(doc, signAhead(-86_400), NOW), undefined, JSON.stringify(doc));
    assert.equal(
      reasonOf(doc, signAhead(15 * 60 + 1), NOW),
      "forbidden: created_at is 901 s in the future, the limit is 900 s (max_future_seconds)",
      JSON.stringify(doc),
    );
  }
  // Other methods carry no created_at and are not affected.
  assert.equal(reasonOf(null, req("nip44_encrypt", { counterparty: PEER }), NOW), undefined);
});

Deno.test("compilePolicy() applies the policy's max_future_seconds", () => {
  const strict = { max_future_seconds: 0 };
  assert.equal(reasonOf(strict, signAhead(0), NOW), undefined);
  assert.equal(reasonOf(strict, signAhead(-60), NOW), undefined);
  assert.equal(
    reasonOf(strict, signAhead(1), NOW),
    "forbidden: created_at is 1 s in the future, the limit is 0 s (max_future_seconds)",
  );
  const lax = { max_future_seconds: 31_536_000 };
  assert.equal(reasonOf(lax, signAhead(30 * 86_400), NOW), undefined);
  assert.equal(reasonOf(lax, signAhead(31_536_000), NOW), undefined);
  assert.match(reasonOf(lax, signAhead(31_536_001), NOW) ?? "", /31536001 s in the future/);
  // The bound uses the injected clock, not the wall clock.
  assert.equal(reasonOf(strict, signAhead(3_600), NOW + 3_600_000), undefined);
  // An invalid value denies everything, like any invalid policy.
  assert.match(
    reasonOf({ max_future_seconds: -1 }, signAhead(0), NOW) ?? "",
    /^forbidden: the authorization's policy is invalid \(rules\.max_future_seconds: /,
  );
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
