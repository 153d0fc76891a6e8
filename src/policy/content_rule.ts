/**
 * `content`: length cap, blocked words and blocked patterns on the content to sign or encrypt.
 */
import { show } from "./problems.ts";
import { type Pattern, toCodePoints } from "./pattern.ts";
import {
  ALLOW,
  deny,
  type PolicyContext,
  type PolicyRequest,
  type PolicyRule,
  type PolicyVerdict,
} from "./rule.ts";
import { BlockedWords } from "./words.ts";

/** Longest content the words and patterns check, in UTF-16 code units; longer content is denied. */
export const CONTENT_SCAN_LIMIT = 65_536;

/** Character tests all patterns may spend on one request (≈ 150 ms at worst); then it is denied. */
export const PATTERN_STEP_BUDGET = 4_000_000;

/** Options of {@link ContentRule}. */
export interface ContentRuleOptions {
  /** Maximum content length in UTF-16 code units. Default: none. */
  maxLength?: number;
  /** Blocked words and phrases. Default: none. */
  words?: readonly string[];
  /** Compiled blocked patterns. Default: none. */
  patterns?: readonly Pattern[];
  /** Pattern step budget per request. Default {@link PATTERN_STEP_BUDGET}. */
  stepBudget?: number;
}

/** Checks `request.content` when there is one; allows requests without content. */
export class ContentRule implements PolicyRule {
  readonly #maxLength: number;
  readonly #words: BlockedWords;
  readonly #patterns: readonly Pattern[];
  readonly #stepBudget: number;

  constructor(opts: ContentRuleOptions) {
    this.#maxLength = opts.maxLength ?? Infinity;
    this.#words = new BlockedWords(opts.words ?? []);
    this.#patterns = opts.patterns ?? [];
    this.#stepBudget = opts.stepBudget ?? PATTERN_STEP_BUDGET;
  }

  /** Denies content that is too long, holds a blocked word or matches a blocked pattern. */
  check(request: PolicyRequest, _ctx: PolicyContext): PolicyVerdict {
    const content = request.content;
    if (content === undefined) return ALLOW;
    if (content.length > this.#maxLength) {
      return deny(
        "forbidden",
        `the content is ${content.length} characters long, over this policy's limit of ${this.#maxLength}`,
      );
    }
    if (this.#words.empty && this.#patterns.length === 0) return ALLOW;
    if (content.length > CONTENT_SCAN_LIMIT) {
      return deny(
        "forbidden",
        `the content is ${content.length} characters long, over the ${CONTENT_SCAN_LIMIT} the content filter checks`,
      );
    }
    const word = this.#words.find(content);
    if (word !== undefined) {
      return deny("forbidden", `the content contains the blocked word ${show(word)}`);
    }
    return this.#patterns.length === 0 ? ALLOW : this.#checkPatterns(content);
  }

  #checkPatterns(content: string): PolicyVerdict {
    const input = toCodePoints(content);
    const budget = { remaining: this.#stepBudget };
    for (const pattern of this.#patterns) {
      const found = pattern.test(input, budget);
      if (found === "exhausted") {
        return deny("forbidden", "the content is too costly to check against the blocked patterns");
      }
      if (found) {
        return deny("forbidden", `the content matches the blocked pattern ${show(pattern.source)}`);
      }
    }
    return ALLOW;
  }
}
