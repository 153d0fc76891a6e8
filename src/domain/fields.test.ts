import assert from "node:assert/strict";
import {
  isMaxUses,
  isUuid,
  isValidName,
  labelProblem,
  looksSecret,
  MAX_DURATION_SECONDS,
  parseDuration,
} from "./fields.ts";

Deno.test("parseDuration() reads seconds and unit suffixes up to 10 years", () => {
  assert.equal(parseDuration(1), 1);
  assert.deepEqual(parseDuration(" 30D "), 30 * 86_400);
  assert.equal(parseDuration("45m"), 2_700);
  assert.deepEqual(parseDuration(`${MAX_DURATION_SECONDS}`), MAX_DURATION_SECONDS);
  for (
    const bad of [MAX_DURATION_SECONDS + 1, 0, -5, 1.5, "1e3", Number.NaN, "99999999999999999w"]
  ) {
    assert.equal(parseDuration(bad), undefined, String(bad));
  }
  assert.equal(parseDuration(null), undefined);
});

Deno.test("isValidName() allows 1–64 of A-Z a-z 0-9 . _ - but not only dots", () => {
  for (const ok of ["a", "A.b_c-9", "x".repeat(64), ".hidden"]) assert.equal(isValidName(ok), true);
  for (const bad of ["", ".", "..", "a/b", "a b", "x".repeat(65), "é", 5, null]) {
    assert.equal(isValidName(bad), false, String(bad));
  }
});

Deno.test("isMaxUses() takes whole numbers from 1 to 1,000,000 only", () => {
  for (const ok of [1, 5, 1_000_000]) assert.equal(isMaxUses(ok), true);
  for (const bad of [0, -1, 1.5, 1_000_001, "3", null]) assert.equal(isMaxUses(bad), false);
});

Deno.test("labelProblem() refuses long labels and control characters", () => {
  assert.equal(labelProblem("My phone"), undefined);
  assert.equal(labelProblem("x".repeat(201)), "it is 201 characters, the limit is 200");
  assert.equal(labelProblem("a\u0000b"), "it must not contain control characters");
  assert.equal(labelProblem("a\u001b[31m"), "it must not contain control characters");
});

Deno.test("isUuid() and looksSecret() recognise what they name", () => {
  assert.equal(isUuid(crypto.randomUUID().toUpperCase()), true);
  assert.equal(isUuid("../x"), false);
  assert.equal(looksSecret("nsec1abc"), true);
  assert.equal(looksSecret("a".repeat(64)), true);
  assert.equal(looksSecret("alice"), false);
});
