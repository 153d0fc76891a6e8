/**
 * Property tests of `parseRequest()` over seeded random input: random JSON values, valid requests
 * with awkward strings, and single-character mutations of valid requests. The parser must never
 * throw, must agree with an independent reading of the rules in its doc comment, and must return
 * exactly what it was given when the request is valid.
 */
import assert from "node:assert/strict";
import { MAX_PARAMS, MAX_REQUEST_CHARS, MAX_REQUEST_ID_CHARS, parseRequest } from "./protocol.ts";
import { prng } from "../../tests/helpers/prng.ts";

const PIECES = ["a", "Z", "0", " ", '"', "\\", "\n", "\u0000", "é", "💥", "\ud800", "{", "]", ","];

function randomString(random: () => number, maxLength: number): string {
  const length = Math.floor(random() * (maxLength + 1));
  let out = "";
  for (let i = 0; i < length; i++) out += PIECES[Math.floor(random() * PIECES.length)];
  return out.slice(0, maxLength); // Astral pieces take two UTF-16 units.
}

/** Mostly objects with plausible `id`, `method` and `params`, so every verdict is reached. */
function randomRequestish(random: () => number): unknown {
  if (random() < 0.3) return randomJson(random, 3);
  const request: Record<string, unknown> = {};
  if (random() < 0.8) {
    request.id = random() < 0.8 ? randomString(random, 10) : randomJson(random, 1);
  }
  if (random() < 0.8) {
    request.method = random() < 0.8 ? randomString(random, 10) : randomJson(random, 1);
  }
  if (random() < 0.8) {
    request.params = random() < 0.7
      ? Array.from({ length: Math.floor(random() * 10) }, () => randomString(random, 8))
      : randomJson(random, 2);
  }
  return request;
}

function randomJson(random: () => number, depth: number): unknown {
  const pick = Math.floor(random() * (depth > 0 ? 8 : 6));
  switch (pick) {
    case 0:
      return null;
    case 1:
      return random() < 0.5;
    case 2:
      return Math.floor(random() * 2_000) - 1_000;
    case 3:
      return random() * 1e300;
    case 4:
    case 5:
      return randomString(random, 12);
    case 6:
      return Array.from({ length: Math.floor(random() * 10) }, () => randomJson(random, depth - 1));
    default: {
      const keys = ["id", "method", "params", "result", "__proto__", "constructor", "x"];
      const object: Record<string, unknown> = {};
      for (const key of keys) {
        if (random() < 0.5) {
          Object.defineProperty(object, key, {
            value: randomJson(random, depth - 1),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
      }
      return object;
    }
  }
}

/** An independent reading of the rules: "ok", "drop" (no usable id) or "reply" (invalid, id known). */
function oracle(plaintext: string): "ok" | "drop" | "reply" {
  if (plaintext.length > MAX_REQUEST_CHARS) return "drop";
  let value: unknown;
  try {
    value = JSON.parse(plaintext);
  } catch {
    return "drop";
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "drop";
  const record = value as Record<string, unknown>;
  const id = record.id;
  if (typeof id !== "string" || id === "" || id.length > MAX_REQUEST_ID_CHARS) return "drop";
  const method = record.method;
  if (typeof method !== "string" || method === "" || method.length > 64) return "reply";
  const params = record.params === undefined || record.params === null ? [] : record.params;
  if (!Array.isArray(params) || params.length > MAX_PARAMS) return "reply";
  return params.every((p) => typeof p === "string") ? "ok" : "reply";
}

function checkAgainstOracle(plaintext: string, seed: number): "ok" | "drop" | "reply" {
  let parsed: ReturnType<typeof parseRequest>;
  try {
    parsed = parseRequest(plaintext);
  } catch (error) {
    throw new Error(`parseRequest threw for seed ${seed}: ${(error as Error).message}`);
  }
  const verdict = oracle(plaintext);
  const context = `seed ${seed}: ${JSON.stringify(plaintext.slice(0, 200))}`;
  if (verdict === "ok") {
    assert.ok(parsed.ok, context);
    const value = JSON.parse(plaintext) as Record<string, unknown>;
    assert.equal(parsed.request.id, value.id, context);
    assert.equal(parsed.request.method, value.method, context);
    assert.deepEqual(parsed.request.params, value.params ?? [], context);
    return verdict;
  }
  assert.ok(!parsed.ok, context);
  assert.ok(parsed.error.startsWith("invalid: "), context);
  if (verdict === "drop") assert.equal(parsed.id, undefined, context);
  else assert.equal(parsed.id, (JSON.parse(plaintext) as { id: string }).id, context);
  return verdict;
}

Deno.test("parseRequest() agrees with the rules on 3,000 random JSON values and never throws", () => {
  const verdicts = { ok: 0, drop: 0, reply: 0 };
  for (let seed = 1; seed <= 3_000; seed++) {
    const random = prng(seed);
    const value = randomRequestish(random);
    const text = random() < 0.1 ? randomString(random, 40) : JSON.stringify(value) ?? "undefined";
    verdicts[checkAgainstOracle(text, seed)]++;
  }
  // Not vacuous: each outcome came up often.
  for (const [verdict, count] of Object.entries(verdicts)) assert.ok(count > 200, verdict);
});

Deno.test("parseRequest() returns valid requests unchanged, whatever their strings hold", () => {
  for (let seed = 1; seed <= 1_000; seed++) {
    const random = prng(seed);
    const id = randomString(random, MAX_REQUEST_ID_CHARS - 1) || "x";
    const method = randomString(random, 63) || "m";
    const params = Array.from(
      { length: Math.floor(random() * (MAX_PARAMS + 1)) },
      () => randomString(random, 50),
    );
    const parsed = parseRequest(JSON.stringify({ id, method, params, extra: random() }));
    assert.ok(parsed.ok, `seed ${seed}`);
    assert.deepEqual(parsed.request, { id, method, params }, `seed ${seed}`);
  }
});

Deno.test("parseRequest() survives every one-character deletion and replacement of valid requests", () => {
  const random = prng(46);
  const samples = [
    { id: "abc123-7", method: "sign_event", params: ['{"kind":1,"content":"hi","tags":[]}'] },
    { id: "x", method: "connect", params: ["", "secret", "sign_event:1", '{"name":"app"}'] },
    { id: "q", method: "ping" },
  ];
  for (const [index, sample] of samples.entries()) {
    const text = JSON.stringify(sample);
    for (let at = 0; at < text.length; at++) {
      checkAgainstOracle(text.slice(0, at) + text.slice(at + 1), index * 10_000 + at);
      const replacement = PIECES[Math.floor(random() * PIECES.length)]!;
      checkAgainstOracle(text.slice(0, at) + replacement + text.slice(at + 1), index * 10_000 + at);
    }
  }
});

Deno.test("parseRequest() refuses an oversized request without parsing it and keeps the boundary", () => {
  const request = JSON.stringify({ id: "big", method: "ping", params: [] });
  const atLimit = request + " ".repeat(MAX_REQUEST_CHARS - request.length);
  assert.ok(parseRequest(atLimit).ok);
  const over = parseRequest(`${atLimit} `);
  assert.deepEqual(over, { ok: false, id: undefined, error: "invalid: request too large" });
});
