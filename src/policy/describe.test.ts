import assert from "node:assert/strict";
import { BUILTIN_POLICIES } from "./builtins.ts";
import { describePolicy } from "./describe.ts";

Deno.test("describePolicy() says what the built-ins allow in plain words", () => {
  const full = describePolicy(BUILTIN_POLICIES.full);
  assert.equal(full[0], "Sign events of any kind except the sensitive ones below.");
  assert.ok(full.includes("Encrypt and decrypt messages."));
  assert.match(full.at(-1)!, /^Never: profile \(0\), follow list \(3\)/i);

  const social = describePolicy(BUILTIN_POLICIES.social);
  assert.match(social[0]!, /^Sign only: Short note \(1\), .*Reaction \(7\)/);
  assert.ok(social.includes("At most 600 requests a minute."));

  const readOnly = describePolicy(BUILTIN_POLICIES["read-only"]);
  assert.deepEqual(readOnly, ["Sign nothing.", "Decrypt messages, but not encrypt new ones."]);
});

Deno.test("describePolicy() names ranges and dangerous kinds a policy opts into", () => {
  const words = describePolicy({ kinds: [[30000, 39999], 3], allow_dangerous_kinds: [3] });
  assert.equal(words[0], "Sign only: kinds 30000–39999, Follow list (3).");
  assert.ok(!words.at(-1)!.includes("follow list"));
});
