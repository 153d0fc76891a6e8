import { assertEquals } from "../../tests/helpers/assert.ts";
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
  assertEquals(parseDuration(1), 1);
  assertEquals(parseDuration(" 30D "), 30 * 86_400);
  assertEquals(parseDuration("45m"), 2_700);
  assertEquals(parseDuration(`${MAX_DURATION_SECONDS}`), MAX_DURATION_SECONDS);
  for (
    const bad of [MAX_DURATION_SECONDS + 1, 0, -5, 1.5, "1e3", Number.NaN, "99999999999999999w"]
  ) {
    assertEquals(parseDuration(bad), undefined, String(bad));
  }
  assertEquals(parseDuration(null), undefined);
});

Deno.test("isValidName() allows 1–64 of A-Z a-z 0-9 . _ - but not only dots", () => {
  for (const ok of ["a", "A.b_c-9", "x".repeat(64), ".hidden"]) assertEquals(isValidName(ok), true);
  for (const bad of ["", ".", "..", "a/b", "a b", "x".repeat(65), "é", 5, null]) {
    assertEquals(isValidName(bad), false, String(bad));
  }
});

Deno.test("isMaxUses() takes whole numbers from 1 to 1,000,000 only", () => {
  for (const ok of [1, 5, 1_000_000]) assertEquals(isMaxUses(ok), true);
  for (const bad of [0, -1, 1.5, 1_000_001, "3", null]) assertEquals(isMaxUses(bad), false);
});

Deno.test("labelProblem() refuses long labels and control characters", () => {
  assertEquals(labelProblem("My phone"), undefined);
  assertEquals(labelProblem("x".repeat(201)), "it is 201 characters, the limit is 200");
  assertEquals(labelProblem("a\u0000b"), "it must not contain control characters");
  assertEquals(labelProblem("a\u001b[31m"), "it must not contain control characters");
});

Deno.test("isUuid() and looksSecret() recognise what they name", () => {
  assertEquals(isUuid(crypto.randomUUID().toUpperCase()), true);
  assertEquals(isUuid("../x"), false);
  assertEquals(looksSecret("nsec1abc"), true);
  assertEquals(looksSecret("a".repeat(64)), true);
  assertEquals(looksSecret("alice"), false);
});
