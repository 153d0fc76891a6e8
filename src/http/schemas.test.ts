import assert from "node:assert/strict";
import * as v from "valibot";
import { ApiError } from "./errors.ts";
import {
  durationSchema,
  fields,
  labelSchema,
  maxUsesSchema,
  nameSchema,
  parseWith,
  relaysSchema,
  text,
  uuidParam,
} from "./schemas.ts";

const Grant = fields({
  name: nameSchema,
  relays: relaysSchema,
  max_uses: maxUsesSchema,
  expires_in: durationSchema,
  label: labelSchema,
  secret: v.optional(text(10)),
});

Deno.test("parseWith() applies the defaults of absent fields", () => {
  assert.deepEqual(parseWith(Grant, { name: "a" }), {
    name: "a",
    relays: [],
    max_uses: 1,
    expires_in: null,
    label: null,
  });
  assert.deepEqual(
    parseWith(Grant, { name: "a", relays: null, max_uses: null, expires_in: "2h", label: "x" }),
    { name: "a", relays: [], max_uses: null, expires_in: 7_200, label: "x" },
  );
});

Deno.test("relaysSchema normalizes and deduplicates relay URLs", () => {
  const out = parseWith(Grant, {
    name: "a",
    relays: [" wss://A.example/ ", "wss://a.example", "ws://127.0.0.1:7777/"],
  });
  assert.deepEqual(out.relays, ["wss://a.example", "ws://127.0.0.1:7777"]);
});

Deno.test("parseWith() names the field of the first problem, unknown fields first", () => {
  const cases: [unknown, string, string][] = [
    [{}, "name", "name: is required"],
    [{ name: "a", nope: 1 }, "nope", "nope: unknown field, expected one of"],
    [{ nope: 1 }, "nope", "nope: unknown field"],
    [{ name: "a b" }, "name", 'name: "a b" is not a valid name'],
    [{ name: "a", relays: ["https://x"] }, "relays[0]", "scheme must be ws or wss"],
    [{ name: "a", relays: "wss://x" }, "relays", "relays: must be an array, got string"],
    [{ name: "a", max_uses: 0 }, "max_uses", 'max_uses: "0" is not a whole number'],
    [{ name: "a", expires_in: "1e3" }, "expires_in", "is not a duration from 1 second"],
    [{ name: "a", label: "a\u0007" }, "label", "label: must not contain control characters"],
    [{ name: "a", secret: 5 }, "secret", "secret: must be a string, got number"],
  ];
  for (const [input, field, message] of cases) {
    assert.throws(() => parseWith(Grant, input), (error: unknown) => {
      assert.ok(error instanceof ApiError);
      assert.deepEqual([error.status, error.field], [400, field], JSON.stringify(input));
      assert.equal(
        error.message.startsWith(message) || error.message.includes(message),
        true,
        error.message,
      );
      return true;
    });
  }
});

Deno.test("text() never quotes the value back: it may be secret", () => {
  assert.throws(() => parseWith(Grant, { name: "a", secret: "nsec1-far-too-long" }), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.message, "secret: must be at most 10 characters");
    return true;
  });
});

Deno.test("uuidParam() lowercases UUIDs and refuses anything else", () => {
  const id = crypto.randomUUID();
  assert.deepEqual(uuidParam(id.toUpperCase(), "authorization"), id);
  assert.throws(() => uuidParam("../x", "authorization"), (error) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 400);
    return true;
  });
});
