import assert from "node:assert/strict";
import { BUILTIN_POLICIES, DANGEROUS_KINDS, parsePolicyDocument } from "./document.ts";

/** The problems for `doc`, failing the test when it is valid. */
function problemsOf(doc: unknown): string[] {
  const result = parsePolicyDocument(doc);
  assert.equal(result.ok, false, `expected ${JSON.stringify(doc)} to be invalid`);
  return result.ok ? [] : result.problems;
}

Deno.test("parsePolicyDocument() accepts the format's example and returns it unchanged", () => {
  const doc = {
    methods: ["sign_event", "nip44_encrypt", "nip44_decrypt"],
    kinds: [1, 7, [30000, 39999], 3],
    allow_dangerous_kinds: [3],
    content: { blocked_words: ["casino"], blocked_patterns: ["free\\s+sats"], max_length: 8192 },
    encrypt_to_self: false,
    counterparties: ["a".repeat(64), "B".repeat(64)],
    rate_limits: {
      per_client: { per_minute: 120, burst: 20 },
      per_method: { sign_event: { per_minute: 60 } },
    },
    max_future_seconds: 900,
  };
  const result = parsePolicyDocument(doc);
  assert.deepEqual(result, { ok: true, policy: doc });
});

Deno.test("parsePolicyDocument() accepts an empty document", () => {
  assert.deepEqual(parsePolicyDocument({}), { ok: true, policy: {} });
});

Deno.test("parsePolicyDocument() rejects a non-object document", () => {
  for (const doc of [null, [], "full", 3]) {
    assert.match(problemsOf(doc)[0]!, /^rules: cannot use .*: a policy document is a JSON object$/);
  }
});

Deno.test("parsePolicyDocument() names the path and value of each bad kind", () => {
  assert.deepEqual(problemsOf({ kinds: [1, "x", [5, 2], [1, 2, 3], 65536, 1.5] }), [
    'rules.kinds[1]: cannot use "x": a kind is an integer 0–65535 or a [from, to] range',
    "rules.kinds[2]: cannot use [5,2]: a kind is an integer 0–65535 or a [from, to] range",
    "rules.kinds[3]: cannot use [1,2,3]: a kind is an integer 0–65535 or a [from, to] range",
    "rules.kinds[4]: cannot use 65536: a kind is an integer 0–65535 or a [from, to] range",
    "rules.kinds[5]: cannot use 1.5: a kind is an integer 0–65535 or a [from, to] range",
  ]);
});

Deno.test("parsePolicyDocument() rejects a dangerous kind in kinds without the opt-in", () => {
  assert.deepEqual(problemsOf({ kinds: [1, 5] }), [
    "rules.kinds[1]: cannot use 5: a dangerous kind; list it in allow_dangerous_kinds too",
  ]);
  assert.equal(parsePolicyDocument({ kinds: [1, 5], allow_dangerous_kinds: [5] }).ok, true);
  // A range spanning dangerous kinds is fine: they stay denied at check time.
  assert.equal(parsePolicyDocument({ kinds: [[0, 65535]] }).ok, true);
});

Deno.test("parsePolicyDocument() lists every problem at once, unknown fields included", () => {
  const problems = problemsOf({
    methods: ["sign_event", "sign"],
    kind: [1],
    allow_dangerous_kinds: ["3"],
    encrypt_to_self: "yes",
    counterparties: ["npub1xyz"],
    content: { blocked_words: ["", "x".repeat(101)], max_length: -1, words: [] },
    rate_limits: { per_client: { burst: 0 }, per_method: { sing_event: { per_minute: 1 } } },
  });
  assert.deepEqual(problems, [
    "rules.kind: unknown field; expected one of methods, kinds, allow_dangerous_kinds, content, encrypt_to_self, counterparties, rate_limits, max_future_seconds",
    'rules.methods[1]: cannot use "sign": not a NIP-46 method keycast knows',
    'rules.allow_dangerous_kinds[0]: cannot use "3": a kind is an integer 0–65535',
    "rules.content.words: unknown field; expected one of blocked_words, blocked_patterns, max_length",
    'rules.content.blocked_words[0]: cannot use "": a word is a string of 1–100 characters, not only spaces',
    `rules.content.blocked_words[1]: cannot use "${
      "x".repeat(59)
    }…: a word is a string of 1–100 characters, not only spaces`,
    "rules.content.max_length: cannot use -1: expected an integer 0–1000000",
    'rules.encrypt_to_self: cannot use "yes": expected true or false',
    'rules.counterparties[0]: cannot use "npub1xyz": a pubkey is 64 hex characters',
    "rules.rate_limits.per_client.per_minute: missing; a rate limit needs a refill rate",
    "rules.rate_limits.per_client.burst: cannot use 0: expected an integer 1–1000000",
    'rules.rate_limits.per_method: cannot use key "sing_event": not a NIP-46 method keycast knows',
  ]);
});

Deno.test("parsePolicyDocument() accepts max_future_seconds 0–31536000 and names bad values", () => {
  for (const seconds of [0, 1, 900, 31_536_000]) {
    assert.deepEqual(parsePolicyDocument({ max_future_seconds: seconds }), {
      ok: true,
      policy: { max_future_seconds: seconds },
    });
  }
  const why = "expected an integer number of seconds 0–31536000";
  for (
    const [value, shown] of [[-1, "-1"], [31_536_001, "31536001"], [1.5, "1.5"], ["900", '"900"'], [
      null,
      "null",
    ], [[900], "[900]"]] as const
  ) {
    assert.deepEqual(problemsOf({ max_future_seconds: value }), [
      `rules.max_future_seconds: cannot use ${shown}: ${why}`,
    ]);
  }
});

Deno.test("parsePolicyDocument() caps the number of entries", () => {
  const kinds = Array.from({ length: 1001 }, (_, i) => i + 20000);
  assert.deepEqual(problemsOf({ kinds }), [
    "rules.kinds: cannot use 1001 entries: at most 1000 are allowed",
  ]);
  const words = Array.from({ length: 501 }, (_, i) => `w${i}`);
  assert.deepEqual(problemsOf({ content: { blocked_words: words } }), [
    "rules.content.blocked_words: cannot use 501 entries: at most 500 are allowed",
  ]);
  const patterns = Array.from({ length: 51 }, (_, i) => `p${i}`);
  assert.deepEqual(problemsOf({ content: { blocked_patterns: patterns } }), [
    "rules.content.blocked_patterns: cannot use 51 entries: at most 50 are allowed",
  ]);
});

Deno.test("parsePolicyDocument() rejects long, invalid and too large patterns", () => {
  const problems = problemsOf({
    content: {
      blocked_patterns: [
        "a".repeat(201),
        "[",
        "(?:abcdefghij){300}",
        "(\\w)\\1",
        "(?<=x)y",
        "(a+)+",
        "ok",
      ],
    },
  });
  assert.equal(problems.length, 5);
  assert.match(problems[0]!, /^rules\.content\.blocked_patterns\[0\]: .*1–200 characters$/);
  assert.equal(
    problems[1]!,
    'rules.content.blocked_patterns[1]: cannot use "[": missing closing ]: "["',
  );
  assert.match(
    problems[2]!,
    /\[2\]: cannot use "\(\?:abcdefghij\)\{300\}": the pattern is too large/,
  );
  assert.match(problems[3]!, /\[3\]: .*backreferences are not allowed$/);
  assert.match(problems[4]!, /\[4\]: .*lookarounds are not supported$/);
});

Deno.test("DANGEROUS_KINDS holds the kinds the spec names and is frozen", () => {
  for (const kind of [0, 3, 5, 62, 7375, 9321, 10002, 10019, 10063, 17375, 22242, 24133, 27235]) {
    assert.ok(DANGEROUS_KINDS.includes(kind), `kind ${kind}`);
  }
  assert.ok(Object.isFrozen(DANGEROUS_KINDS));
});

Deno.test("BUILTIN_POLICIES are valid, plain JSON and deeply frozen", () => {
  assert.deepEqual(Object.keys(BUILTIN_POLICIES).sort(), ["full", "read-only", "social"]);
  for (const [name, doc] of Object.entries(BUILTIN_POLICIES)) {
    assert.equal(parsePolicyDocument(doc).ok, true, name);
    assert.deepEqual(JSON.parse(JSON.stringify(doc)), doc, name);
    assert.ok(Object.isFrozen(doc), name);
  }
  assert.ok(Object.isFrozen(BUILTIN_POLICIES.social.kinds));
  assert.deepEqual(BUILTIN_POLICIES.full, {});
});
