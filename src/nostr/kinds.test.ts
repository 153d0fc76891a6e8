import assert from "node:assert/strict";
import { DANGEROUS_KINDS, isDangerousKind, isKind, kindLabel, KINDS } from "./kinds.ts";

/** Kinds that change identity, money, routing, deletion or authentication (hardening item 5). */
const MUST_BE_DANGEROUS = [
  0, // profile
  3, // follow list
  5, // deletion request
  62, // request to vanish
  443, // MLS key package
  7374, // Cashu quote
  7375, // Cashu token
  7376, // Cashu spending history
  9321, // nutzap
  10002, // relay list
  10006, // blocked relays
  10007, // search relays
  10011, // external identities
  10013, // private relays
  10019, // nutzap info
  10050, // DM relays
  10051, // key package relays
  10063, // Blossom servers
  10096, // NIP-96 file servers
  13194, // wallet service info
  17375, // Cashu wallet
  22242, // relay auth
  23194, // wallet request
  23195, // wallet response
  24133, // NIP-46
  24242, // Blossom authorization
  27235, // HTTP auth
  30617, // git repository announcement
  30618, // git repository state
  37375, // Cashu wallet of NIP-60's first version
];

/** Kinds people sign every day, which must stay signable without opting in. */
const MUST_BE_SIGNABLE = [1, 4, 6, 7, 9, 13, 14, 16, 1059, 1111, 9734, 9802, 10003, 30023, 30078];

Deno.test("KINDS marks every identity, money, routing, deletion and auth kind dangerous", () => {
  for (const kind of MUST_BE_DANGEROUS) {
    assert.ok(isDangerousKind(kind), `kind ${kind} (${kindLabel(kind)})`);
    assert.ok(DANGEROUS_KINDS.includes(kind), `kind ${kind}`);
  }
  for (const kind of MUST_BE_SIGNABLE) {
    assert.equal(isDangerousKind(kind), false, `kind ${kind} (${kindLabel(kind)})`);
  }
});

Deno.test("KINDS gives every kind a valid number, a name and at most a one-line reason", () => {
  for (const [key, info] of Object.entries(KINDS)) {
    const kind = Number(key);
    assert.ok(isKind(kind), key);
    assert.match(info.name, /^\S.{0,39}$/, key);
    if (info.danger !== undefined) {
      assert.match(info.danger, /^[a-z][^\n]{9,99}$/, `kind ${key}: ${info.danger}`);
    }
  }
  const names = Object.values(KINDS).map((info) => info.name);
  assert.equal(new Set(names).size, names.length, "names are unique");
});

Deno.test("DANGEROUS_KINDS is derived from KINDS, ascending and frozen", () => {
  const expected = Object.entries(KINDS).filter(([, info]) => info.danger).map(([k]) => Number(k));
  assert.deepEqual([...DANGEROUS_KINDS], expected.sort((a, b) => a - b));
  assert.ok(DANGEROUS_KINDS.every((kind, i) => i === 0 || DANGEROUS_KINDS[i - 1]! < kind));
  assert.ok(Object.isFrozen(DANGEROUS_KINDS));
  assert.ok(Object.isFrozen(KINDS));
});

Deno.test("kindLabel() names known kinds and numbers the rest", () => {
  assert.equal(kindLabel(1), "Short note (1)");
  assert.equal(kindLabel(62), "Request to vanish (62)");
  assert.equal(kindLabel(10019), "Nutzap info (10019)");
  assert.equal(kindLabel(4242), "Kind 4242");
});
