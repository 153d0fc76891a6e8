import { assertEquals, assertThrows } from "../../tests/helpers/assert.ts";
import { ApiError } from "./errors.ts";
import {
  isValidName,
  MAX_EXPIRES_IN_SECONDS,
  parseExpiresIn,
  parseMaxUses,
  parseRelays,
  parseUuidParam,
} from "./fields.ts";

Deno.test("parseExpiresIn() reads seconds and unit suffixes up to 10 years", () => {
  assertEquals(parseExpiresIn(undefined), null);
  assertEquals(parseExpiresIn(null), null);
  assertEquals(parseExpiresIn(1), 1);
  assertEquals(parseExpiresIn(" 30D "), 30 * 86_400);
  assertEquals(parseExpiresIn(`${MAX_EXPIRES_IN_SECONDS}`), MAX_EXPIRES_IN_SECONDS);
  const err = assertThrows(() => parseExpiresIn(MAX_EXPIRES_IN_SECONDS + 1), ApiError);
  assertEquals([err.status, err.field], [400, "expires_in"]);
  assertThrows(() => parseExpiresIn("1e3"), ApiError);
  assertThrows(() => parseExpiresIn(Number.NaN), ApiError);
  assertThrows(() => parseExpiresIn("99999999999999999w"), ApiError);
});

Deno.test("isValidName() allows 1–64 of A-Z a-z 0-9 . _ - but not only dots", () => {
  for (const ok of ["a", "A.b_c-9", "x".repeat(64), ".hidden"]) assertEquals(isValidName(ok), true);
  for (const bad of ["", ".", "..", "a/b", "a b", "x".repeat(65), "é", 5, null]) {
    assertEquals(isValidName(bad), false, String(bad));
  }
});

Deno.test("parseRelays() falls back to the defaults and dedupes", () => {
  assertEquals(parseRelays(undefined, ["wss://d.example"]), ["wss://d.example"]);
  assertEquals(parseRelays([], ["wss://d.example"]), ["wss://d.example"]);
  assertEquals(parseRelays([" wss://a.example ", "wss://a.example"], []), ["wss://a.example"]);
});

Deno.test("parseMaxUses() defaults to 1 and takes null as no limit", () => {
  assertEquals(parseMaxUses(undefined), 1);
  assertEquals(parseMaxUses(null), null);
  assertThrows(() => parseMaxUses(0), ApiError, "max_uses");
});

Deno.test("parseUuidParam() lowercases UUIDs and refuses anything else", () => {
  const id = crypto.randomUUID();
  assertEquals(parseUuidParam(id.toUpperCase(), "authorization"), id);
  const err = assertThrows(() => parseUuidParam("../x", "authorization"), ApiError);
  assertEquals(err.status, 400);
});
