import assert from "node:assert/strict";
import { MAX_PASSWORD_LENGTH, passwordProblem } from "./password_rules.ts";

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
    ["a".repeat(MAX_PASSWORD_LENGTH + 1), /at most 1024/],
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

Deno.test("passwordProblem() counts the length in UTF-16 code units, as logins take it", () => {
  const emoji = ["🔑", "🐢", "🌵", "🚲", "🎈", "🍋"];
  const made = (count: number) => Array.from({ length: count }, (_, i) => emoji[i % 6]).join("");
  assert.equal(made(512).length, MAX_PASSWORD_LENGTH);
  assert.equal(passwordProblem(made(512)), undefined, "512 emoji are 1,024 code units");
  assert.match(passwordProblem(made(513)) ?? "accepted", /at most 1024 characters \(emoji/);
  assert.match(passwordProblem("é".repeat(1_025)) ?? "accepted", /at most 1024/);
});
