import assert from "node:assert/strict";
import { CsrfTokens, isRandomToken, randomToken, tokenHash } from "./tokens.ts";

Deno.test("randomToken() is 256 bits of base64url and tokenHash() its sha256", () => {
  const token = randomToken();
  assert.ok(isRandomToken(token), token);
  assert.notEqual(randomToken(), token);
  assert.match(tokenHash(token), /^[0-9a-f]{64}$/);
  assert.equal(
    tokenHash("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assert.equal(isRandomToken(`${token}x`), false);
});

Deno.test("CsrfTokens are bound to their binding and to the master key", () => {
  const tokens = new CsrfTokens(new Uint8Array(32).fill(1));
  const token = tokens.token("session-a");
  assert.equal(tokens.check("session-a", token), true);
  assert.equal(tokens.check("session-b", token), false);
  assert.equal(tokens.check("session-a", undefined), false);
  assert.equal(
    tokens.check("session-a", token.slice(0, -1) + (token.endsWith("A") ? "B" : "A")),
    false,
  );
  assert.equal(new CsrfTokens(new Uint8Array(32).fill(2)).check("session-a", token), false);
  assert.equal(new CsrfTokens(new Uint8Array(32).fill(1)).check("session-a", token), true);
});
