import assert from "node:assert/strict";
import { compilePattern, MAX_PROGRAM_SIZE, type Pattern } from "./pattern.ts";

function compiled(source: string): Pattern {
  const result = compilePattern(source);
  if (!result.ok) throw new Error(`Cannot compile "${source}": ${result.why}`);
  return result.pattern;
}

/** The reason `source` is refused, failing the test when it compiles. */
function whyNot(source: string): string {
  const result = compilePattern(source);
  assert.equal(result.ok, false, `expected ${JSON.stringify(source)} to be refused`);
  return result.ok ? "" : result.why;
}

// RE2 and JavaScript agree on these; `\x{…}` is RE2's spelling of JavaScript's `\u{…}`.
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
  "\\x{1F600}",
  ".",
  "^$",
  "\\x41",
  "[\\]]",
  "a{0}b",
  "(?:)",
  "ΣΑΣ",
  "k",
  "[\\d-]",
  "\\.",
  "a+?b",
  "\\D\\W\\S",
  "^(?:a|b)$",
  "\\x{e9}",
  "(a+)+$",
  "(?<name>b)c",
  "\\p{L}\\d",
  "a{101}",
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
  "\ud800",
  "ж7",
];

Deno.test("compilePattern() matches like a case-insensitive JavaScript RegExp", () => {
  for (const source of PATTERNS) {
    const pattern = compiled(source);
    const regex = new RegExp(source.replace(/\\x\{([0-9a-f]+)\}/gi, "\\u{$1}"), "iu");
    for (const input of INPUTS) {
      assert.equal(
        pattern.test(input),
        regex.test(input),
        `/${source}/ on ${JSON.stringify(input)}`,
      );
    }
  }
});

Deno.test("compilePattern() follows RE2 where it differs from JavaScript", () => {
  // \s is ASCII whitespace only, and `.` excludes only \n.
  assert.equal(compiled("x\\s+y").test("x\u00a0y"), false);
  assert.equal(compiled("x\\s+y").test("x\u000by"), false);
  assert.equal(compiled("x[\\s\\pZ]+y").test("x\u00a0y"), true);
  assert.equal(compiled("^.$").test("\r"), true);
  // A lone { or ] is a literal; an empty-width assertion may be repeated.
  assert.equal(compiled("a{").test("A{"), true);
  assert.equal(compiled("a]").test("xa]"), true);
  assert.equal(compiled("^*").test("anything"), true);
  // An admin may turn case-insensitivity off inside a pattern.
  assert.equal(compiled("(?-i)ABC").test("abc"), false);
  assert.equal(compiled("(?-i)ABC").test("ABC"), true);
});

Deno.test("compilePattern() refuses what RE2 cannot parse, with RE2's reason", () => {
  const cases: [string, RegExp][] = [
    ["\\u00e9", /^invalid escape sequence: "\\\\u" \(RE2 writes a code point as \\x\{E9\}\)$/],
    ["\\p{Nope}", /^invalid character class range: "\\\\p\{Nope\}"$/],
    ["a{1001}", /^invalid repeat count: "\{1001\}"$/],
    ["a{3,2}", /^invalid repeat count: "\{3,2\}"$/],
    ["*a", /^missing argument to repetition operator: "\*"$/],
    ["a**", /^invalid nested repetition operator: "\*\*"$/],
    ["(a", /^missing closing \): "\(a"$/],
    ["a)", /^unexpected \): "a\)"$/],
    ["[z-a]", /^invalid character class range: "z-a"$/],
    ["[]", /^missing closing \]: "\[\]"$/],
    ["[^]", /^missing closing \]: "\[\^\]"$/],
  ];
  for (const [source, why] of cases) assert.match(whyNot(source), why, source);
});

Deno.test("compilePattern() refuses lookarounds and backreferences, naming them", () => {
  for (const source of ["(?=a)", "(?!a)", "x(?<=a)", "(?<!x)y"]) {
    assert.equal(whyNot(source), "lookarounds are not supported", source);
  }
  for (const source of ["(a)\\1", "(?<x>a)\\k<x>", "(?P<x>a)(?P=x)"]) {
    assert.equal(whyNot(source), "backreferences are not allowed", source);
  }
});

Deno.test("compilePattern() accepts nested quantifiers, which RE2 runs in linear time", () => {
  const input = "a".repeat(65_536);
  for (
    const source of ["(a+)+b", "(a*)*b", "(a|aa)*b", "(\\w*\\s?){2,}b", "((ab)+c)*d", "(.*a){3}b"]
  ) {
    assert.equal(compiled(source).test(input), false, source);
  }
});

Deno.test("compilePattern() refuses a pattern whose program is too large", () => {
  assert.ok(compiled("a{100}").size > compiled("a").size + 90);
  assert.ok(compiled(".{1000}").size <= MAX_PROGRAM_SIZE);
  assert.match(
    whyNot("(?:abcdefghij){100}(?:abcdefghij){100}(?:abcdefghij){100}"),
    /^the pattern is too large: it compiles to \d+ instructions, over the limit of 2000/,
  );
});

Deno.test("Pattern.test() finishes on input that makes a backtracking engine hang", () => {
  // RegExp needs ~15 s for /a.*b/ on this input; RE2 does not backtrack.
  const input = "a".repeat(65_536);
  for (const source of ["a.*b", "a.*a.*b", "(?:a|b).{0,20}c", "spam.*link"]) {
    assert.equal(compiled(source).test(input), false, source);
  }
  assert.equal(compiled("spam.*link").test("spam ".repeat(13_107)), false);
  assert.equal(compiled("spam.*link").test(`${"spam ".repeat(13_107)}LINK`), true);
});
