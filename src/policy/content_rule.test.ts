import assert from "node:assert/strict";
import { CONTENT_SCAN_LIMIT, ContentRule } from "./content_rule.ts";
import { compilePattern, type Pattern } from "./pattern.ts";
import type { PolicyRequest } from "./rule.ts";
import { BlockedWords } from "./words.ts";

const ctx = { now: 0 };
const sign = (content?: string): PolicyRequest => ({
  method: "sign_event",
  clientPubkey: "c".repeat(64),
  userPubkey: "1".repeat(64),
  kind: 1,
  content,
});
const patterns = (...sources: string[]): Pattern[] =>
  sources.map((source) => {
    const result = compilePattern(source);
    if (!result.ok) throw new Error(result.why);
    return result.pattern;
  });
const reasonOf = (rule: ContentRule, content?: string) => {
  const verdict = rule.check(sign(content), ctx);
  return verdict.allow ? undefined : verdict.reason;
};

Deno.test("BlockedWords.find() matches whole words case-insensitively", () => {
  const words = new BlockedWords(["Casino", "free sats", "#nsfw", "ñu"]);
  assert.equal(words.find("Visit the CASINO tonight"), "Casino");
  assert.equal(words.find("casino."), "Casino");
  assert.equal(words.find("get FREE SATS now"), "free sats");
  assert.equal(words.find("tag:#NSFW"), "#nsfw");
  assert.equal(words.find("ÑU"), "ñu");
  assert.equal(words.find("casinos and casinoroyale"), undefined);
  assert.equal(words.find("xcasino"), undefined);
  assert.equal(words.find("freesats"), undefined);
  assert.equal(words.find("ñus"), undefined);
  assert.equal(words.find("the casinos, then a casino"), "Casino");
  assert.equal(new BlockedWords([]).empty, true);
});

Deno.test("ContentRule allows clean content and requests without content", () => {
  const rule = new ContentRule({
    words: ["casino"],
    patterns: patterns("free\\s+sats"),
    maxLength: 50,
  });
  assert.equal(reasonOf(rule, "gm nostr"), undefined);
  assert.equal(reasonOf(rule, undefined), undefined);
  assert.equal(reasonOf(rule, ""), undefined);
});

Deno.test("ContentRule denies a blocked word, naming it", () => {
  const rule = new ContentRule({ words: ["casino"] });
  assert.equal(
    reasonOf(rule, "best Casino!"),
    'forbidden: the content contains the blocked word "casino"',
  );
});

Deno.test("ContentRule denies a blocked pattern, naming it", () => {
  const rule = new ContentRule({ patterns: patterns("^gm$", "free\\s+sats") });
  assert.equal(
    reasonOf(rule, "FREE   sats here"),
    'forbidden: the content matches the blocked pattern "free\\\\s+sats"',
  );
  assert.equal(reasonOf(rule, "gm"), 'forbidden: the content matches the blocked pattern "^gm$"');
  assert.equal(reasonOf(rule, "gm all"), undefined);
});

Deno.test("ContentRule denies content over max_length", () => {
  const rule = new ContentRule({ maxLength: 5 });
  assert.equal(reasonOf(rule, "12345"), undefined);
  assert.equal(
    reasonOf(rule, "123456"),
    "forbidden: the content is 6 characters long, over this policy's limit of 5",
  );
});

Deno.test("ContentRule denies content longer than it can check, only when it filters", () => {
  const long = "a ".repeat(CONTENT_SCAN_LIMIT / 2) + "x";
  assert.match(
    reasonOf(new ContentRule({ words: ["casino"] }), long) ?? "",
    /over the 65536 the content filter checks/,
  );
  assert.equal(reasonOf(new ContentRule({}), long), undefined);
  assert.equal(reasonOf(new ContentRule({ words: ["casino"] }), long.slice(1)), undefined);
});

Deno.test("ContentRule denies content too costly for the patterns' cost budget", () => {
  // The cost is content length × the summed program sizes; the budget allows 50 characters.
  const compiled = patterns(".{0,50}.{0,50}q", "free\\s+sats");
  const perCharacter = compiled[0]!.size + compiled[1]!.size;
  const rule = new ContentRule({ patterns: compiled, costBudget: 50 * perCharacter });
  assert.equal(reasonOf(rule, "x".repeat(50)), undefined);
  assert.equal(
    reasonOf(rule, "x".repeat(51)),
    "forbidden: the content is too costly to check against the blocked patterns",
  );
  // Too costly is denied before matching: even content that would match is not searched.
  assert.equal(
    reasonOf(rule, "free sats".padEnd(51, "x")),
    "forbidden: the content is too costly to check against the blocked patterns",
  );
});

Deno.test("ContentRule checks hostile content within the scan limit quickly", () => {
  const rule = new ContentRule({ patterns: patterns("spam.*link", "a.*a.*b") });
  const hostile = "spam a ".repeat(Math.floor(CONTENT_SCAN_LIMIT / 7));
  assert.equal(reasonOf(rule, hostile), undefined);
});
