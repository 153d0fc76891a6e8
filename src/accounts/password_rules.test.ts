import assert from "node:assert/strict";
import { MAX_PASSWORD_CHARS, passwordProblem } from "./password_rules.ts";

Deno.test("passwordProblem() accepts long, unlisted passwords", () => {
  for (
    const password of [
      "correct horse battery",
      "vN7#pq2!Lx9@",
      "1234567890qw",
      "zebra-lantern-quartz",
      "x".repeat(3) + "yz1234567890",
      "ünïcödé pässwörd 2",
    ]
  ) {
    assert.equal(passwordProblem(password, "alice"), undefined, password);
  }
});

Deno.test("passwordProblem() refuses short, huge, common, repeated and keyboard-run passwords", () => {
  const cases: [string, RegExp][] = [
    ["short1!", /at least 12 characters \(this one has 7\)/],
    ["🔑".repeat(11), /at least 12/],
    ["a".repeat(MAX_PASSWORD_CHARS + 1), /at most 1024/],
    ["Password2024!", /first ones attackers try/],
    ["PASSWORD1234", /first ones attackers try/],
    ["iloveyou12345", /first ones attackers try/],
    ["!!nostrbitcoin!!", /first ones attackers try/],
    ["letmein-letmein", /pattern|attackers/],
    ["abcabcabcabc", /repeats a short pattern/],
    ["aaaaaaaaaaaaaaaa", /repeats a short pattern/],
    ["qwertyuiopas", /run of keys/],
    ["987654321098", /run of keys/],
    ["my alice password", /username/],
  ];
  for (const [password, problem] of cases) {
    assert.match(passwordProblem(password, "alice") ?? "accepted", problem, password);
  }
});
