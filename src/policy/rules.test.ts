import assert from "node:assert/strict";
import { CounterpartyPresentRule, CounterpartyRule, SelfOnlyRule } from "./counterparty_rule.ts";
import { FutureCreatedAtRule } from "./created_at_rule.ts";
import { DangerousKindRule, KindRule, SignKindPresentRule } from "./kind_rule.ts";
import { MethodRule } from "./method_rule.ts";
import { ALLOW, deny, PipeRule, type PolicyRequest, type PolicyRule } from "./rule.ts";

const USER = "1".repeat(64);
const CLIENT = "c".repeat(64);
const PEER = "e".repeat(64);
const ctx = { now: 0 };

/** A request from CLIENT for USER; `fields` override. */
function request(method: string, fields: Partial<PolicyRequest> = {}): PolicyRequest {
  return { method, clientPubkey: CLIENT, userPubkey: USER, ...fields };
}

const reasonOf = (rule: PolicyRule, req: PolicyRequest) => {
  const verdict = rule.check(req, ctx);
  return verdict.allow ? undefined : verdict.reason;
};

Deno.test("MethodRule allows listed and session methods and denies the rest", () => {
  const rule = new MethodRule(["nip44_decrypt"]);
  for (const method of ["nip44_decrypt", "connect", "ping", "get_public_key", "logout"]) {
    assert.equal(reasonOf(rule, request(method)), undefined, method);
  }
  assert.equal(reasonOf(rule, request("switch_relays")), undefined);
  assert.equal(
    reasonOf(rule, request("sign_event", { kind: 1 })),
    'forbidden: method "sign_event" is not allowed by this policy',
  );
  assert.match(reasonOf(rule, request("nip44_encrypt")) ?? "", /^forbidden: method/);
});

Deno.test("SignKindPresentRule denies sign_event without a usable kind", () => {
  const rule = new SignKindPresentRule();
  assert.equal(reasonOf(rule, request("sign_event", { kind: 1 })), undefined);
  assert.equal(reasonOf(rule, request("ping")), undefined);
  for (const kind of [undefined, -1, 65536, 1.5]) {
    assert.match(reasonOf(rule, request("sign_event", { kind })) ?? "", /^invalid: sign_event/);
  }
});

Deno.test("DangerousKindRule denies dangerous kinds unless opted in", () => {
  const rule = new DangerousKindRule([3]);
  assert.equal(reasonOf(rule, request("sign_event", { kind: 1 })), undefined);
  assert.equal(reasonOf(rule, request("sign_event", { kind: 3 })), undefined);
  assert.equal(
    reasonOf(rule, request("sign_event", { kind: 0 })),
    "forbidden: kind 0 is a dangerous kind, which this policy does not allow (allow_dangerous_kinds)",
  );
  assert.match(reasonOf(rule, request("sign_event", { kind: 27235 })) ?? "", /kind 27235/);
});

Deno.test("KindRule allows listed kinds and inclusive ranges only", () => {
  const rule = new KindRule([1, [30000, 30010]]);
  for (const kind of [1, 30000, 30005, 30010]) {
    assert.equal(reasonOf(rule, request("sign_event", { kind })), undefined, `kind ${kind}`);
  }
  for (const kind of [0, 2, 29999, 30011]) {
    assert.equal(
      reasonOf(rule, request("sign_event", { kind })),
      `forbidden: kind ${kind} is not allowed by this policy`,
    );
  }
  assert.equal(reasonOf(rule, request("nip44_encrypt", { kind: 7 })), undefined);
});

Deno.test("FutureCreatedAtRule allows created_at up to the limit ahead and denies one second more", () => {
  const rule = new FutureCreatedAtRule(900);
  const now = 1_700_000_000_999; // ms; compared in whole seconds: 1_700_000_000
  const at = (createdAt: number) =>
    rule.check(request("sign_event", { kind: 1, createdAt }), { now });
  for (const createdAt of [0, 1_600_000_000, 1_700_000_000, 1_700_000_900]) {
    assert.deepEqual(at(createdAt), ALLOW, `created_at ${createdAt}`);
  }
  assert.deepEqual(
    at(1_700_000_901),
    deny("forbidden", "created_at is 901 s in the future, the limit is 900 s (max_future_seconds)"),
  );
  assert.deepEqual(rule.check(request("sign_event", { kind: 1 }), { now }), ALLOW);
  assert.deepEqual(rule.check(request("ping", { createdAt: 2e9 }), { now }), ALLOW);
});

Deno.test("FutureCreatedAtRule(0) denies any future created_at and the default is 15 minutes", () => {
  const now = 1_700_000_000_000;
  const check = (rule: FutureCreatedAtRule, createdAt: number) =>
    rule.check(request("sign_event", { kind: 1, createdAt }), { now }).allow;
  const strict = new FutureCreatedAtRule(0);
  assert.equal(check(strict, 1_700_000_000), true);
  assert.equal(check(strict, 1_700_000_001), false);
  const byDefault = new FutureCreatedAtRule();
  assert.equal(check(byDefault, 1_700_000_900), true);
  assert.equal(check(byDefault, 1_700_000_901), false);
});

Deno.test("FutureCreatedAtRule denies a created_at that is not a non-negative integer", () => {
  const rule = new FutureCreatedAtRule();
  for (const createdAt of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
    assert.match(
      reasonOf(rule, request("sign_event", { kind: 1, createdAt })) ?? "",
      /^invalid: sign_event needs created_at as a non-negative integer, got /,
      String(createdAt),
    );
  }
});

Deno.test("CounterpartyPresentRule denies encrypt/decrypt without a 64-hex peer", () => {
  const rule = new CounterpartyPresentRule();
  assert.equal(reasonOf(rule, request("nip04_encrypt", { counterparty: PEER })), undefined);
  assert.equal(
    reasonOf(rule, request("nip44_decrypt", { counterparty: PEER.toUpperCase() })),
    undefined,
  );
  assert.match(reasonOf(rule, request("nip44_encrypt")) ?? "", /^invalid: nip44_encrypt needs/);
  assert.match(reasonOf(rule, request("nip04_decrypt", { counterparty: "xyz" })) ?? "", /"xyz"/);
  assert.equal(reasonOf(rule, request("sign_event", { kind: 1 })), undefined);
});

Deno.test("SelfOnlyRule allows encrypting and decrypting only with the user's pubkey", () => {
  const rule = new SelfOnlyRule();
  assert.equal(reasonOf(rule, request("nip44_encrypt", { counterparty: USER })), undefined);
  assert.equal(reasonOf(rule, request("nip04_decrypt", { counterparty: USER })), undefined);
  assert.equal(
    reasonOf(rule, request("nip44_encrypt", { counterparty: PEER })),
    "forbidden: nip44_encrypt is allowed only with the user's own pubkey",
  );
  assert.equal(reasonOf(rule, request("sign_event", { kind: 1 })), undefined);
});

Deno.test("CounterpartyRule allows only listed peers, in any letter case", () => {
  const rule = new CounterpartyRule([PEER.toUpperCase()]);
  assert.equal(reasonOf(rule, request("nip44_encrypt", { counterparty: PEER })), undefined);
  assert.match(
    reasonOf(rule, request("nip04_decrypt", { counterparty: USER })) ?? "",
    /^forbidden: nip04_decrypt with "1{64}" is not allowed by this policy$/,
  );
  assert.equal(reasonOf(rule, request("ping")), undefined);
});

Deno.test("PipeRule allows when all allow and returns the first denial's reason", () => {
  const calls: string[] = [];
  const rule = (name: string, allow: boolean): PolicyRule => ({
    check: () => {
      calls.push(name);
      return allow ? ALLOW : deny("forbidden", `${name} said no`);
    },
  });
  assert.deepEqual(
    new PipeRule([rule("a", true), rule("b", true)]).check(request("ping"), ctx),
    ALLOW,
  );
  calls.length = 0;
  const verdict = new PipeRule([rule("a", true), rule("b", false), rule("c", false)])
    .check(request("ping"), ctx);
  assert.deepEqual(verdict, { allow: false, reason: "forbidden: b said no" });
  assert.deepEqual(calls, ["a", "b"]);
  assert.deepEqual(new PipeRule([]).check(request("ping"), ctx), ALLOW);
});
