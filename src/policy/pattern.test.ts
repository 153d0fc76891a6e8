import assert from "node:assert/strict";
import { compilePattern, type Pattern, toCodePoints } from "./pattern.ts";
import { hostilePatternReason } from "./pattern_safety.ts";

function compiled(source: string): Pattern {
  const result = compilePattern(source);
  if (!result.ok) throw new Error(`Cannot compile "${source}": ${result.why}`);
  return result.pattern;
}

const test = (pattern: Pattern, text: string) =>
  pattern.test(toCodePoints(text), { remaining: 10_000_000 });

const PATTERNS = [
  "spam.*link",
  "^hello",
  "world$",
  "\\bcat\\b",
  "\\Bat",
  "colou?r",
  "a{2,3}b",
  "a{2,}b",
  "[a-c]x",
  "[^a-z0-9 ]",
  "(?:foo|bar)baz",
  "\\d{3}-\\d{4}",
  "x\\s+y",
  "\\w+@\\w+\\.com",
  "é",
  "[À-ÿ]",
  "a|b|c",
  "(ab)+c",
  "free\\s*sats",
  "\\u{1F600}",
  ".",
  "^$",
  "\\x41",
  "[\\]]",
  "a{0}b",
  "(?:)",
  "ΣΑΣ",
  "k",
  "[\\d-]",
  "[]",
  "[^]",
  "\\.",
  "a+?b",
  "\\D\\W\\S",
  "^(?:a|b)$",
  "\\u00e9",
];
const INPUTS = [
  "",
  "spam here and a link",
  "Hello world",
  "say WORLD",
  "concatenate",
  "the cat sat",
  "COLOR colour",
  "aab aaab",
  "Bx",
  "hi!",
  "FOObaz",
  "555-1234",
  "x \t y",
  "me@host.com",
  "É",
  "ñ",
  "abc",
  "ababc",
  "FREE SATS",
  "😀",
  "\n",
  "A",
  "]",
  "b",
  "σας",
  "K",
  "-",
  "a.b",
  "ab",
];

Deno.test("compilePattern() matches like a case-insensitive JavaScript RegExp", () => {
  for (const source of PATTERNS) {
    const pattern = compiled(source);
    const regex = new RegExp(source, "iu");
    for (const input of INPUTS) {
      assert.equal(
        test(pattern, input),
        regex.test(input),
        `/${source}/ on ${JSON.stringify(input)}`,
      );
    }
  }
});

Deno.test("compilePattern() refuses syntax outside the supported subset, with a reason", () => {
  const cases: [string, RegExp][] = [
    ["(?=a)", /lookarounds/],
    ["(?<name>a)", /lookarounds and named groups/],
    ["\\p{L}", /escape \\p is not supported/],
    ["a{101}", /above 100/],
    ["a{3,2}", /out of order/],
    ["*a", /nothing to repeat/],
    ["a{", /lone \{/],
    ["a]", /lone \]/],
    ["(a", /missing \)|end of pattern/],
    ["a)", /unexpected "\)"/],
    ["^*", /assertion cannot be repeated/],
    ["[z-a]", /out of order/],
    ["(?:abcdefghij){100}(?:abcdefghij){100}(?:abcdefghij){100}", /too large/],
  ];
  for (const [source, why] of cases) {
    const result = compilePattern(source);
    assert.equal(result.ok, false, source);
    if (!result.ok) assert.match(result.why, why, source);
  }
});

Deno.test("hostilePatternReason() rejects nested quantifiers and backreferences only", () => {
  for (const source of ["(a+)+", "(a*)*", "(a|aa)*", "(\\w*\\s?){2,}", "((ab)+c)*", "(.*a){3}"]) {
    assert.match(hostilePatternReason(source) ?? "", /repeated group/, source);
  }
  for (const source of ["(a)\\1", "(?<x>a)\\k<x>"]) {
    assert.match(hostilePatternReason(source) ?? "", /backreferences/, source);
  }
  for (const source of ["(ab)+", "(a+)?", "(?:foo|bar)", "[(+)]+", "\\(a+\\)+", "(a{2})", "x*y+"]) {
    assert.equal(hostilePatternReason(source), undefined, source);
  }
});

Deno.test("Pattern.test() takes linear time on input that makes a backtracking engine hang", () => {
  // RegExp needs ~15 s for /a.*b/ on this input; the VM spends a few steps per character.
  const input = toCodePoints("a".repeat(65_536));
  for (const source of ["a.*b", "a.*a.*b", "(?:a|b).{0,20}c"]) {
    const budget = { remaining: 10_000_000 };
    assert.equal(compiled(source).test(input, budget), false, source);
    const steps = 10_000_000 - budget.remaining;
    assert.ok(steps <= 30 * input.length, `${source}: ${steps} steps`);
  }
});

Deno.test("Pattern.test() stops and says so when the step budget runs out", () => {
  const pattern = compiled(".{0,50}.{0,50}q");
  const budget = { remaining: 100_000 };
  assert.equal(pattern.test(toCodePoints("x".repeat(10_000)), budget), "exhausted");
  assert.ok(budget.remaining < 0);
  // The same search with enough budget finishes.
  assert.equal(pattern.test(toCodePoints("x".repeat(100)), { remaining: 100_000 }), false);
});
