/**
 * `content`: length cap, blocked words and blocked patterns on the content to sign or encrypt.
 */
import { show } from "./problems.ts";
import type { Pattern } from "./pattern.ts";
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

/**
 * Pattern search cost one request may reach: content length (UTF-16 code units) × the summed
 * program sizes of the patterns. Costlier requests are denied unchecked. re2js's worst case is
 * about 25 ns a unit, so ≈ 150 ms at worst; ordinary patterns run several times faster.
 */
export const PATTERN_COST_BUDGET = 6_000_000;

/** Options of {@link ContentRule}. */
export interface ContentRuleOptions {
  /** Maximum content length in UTF-16 code units. Default: none. */
  maxLength?: number;
  /** Blocked words and phrases. Default: none. */
  words?: readonly string[];
  /** Compiled blocked patterns. Default: none. */
  patterns?: readonly Pattern[];
  /** Pattern cost budget per request (see the constant). Default {@link PATTERN_COST_BUDGET}. */
  costBudget?: number;
}

/** Checks `request.content` when there is one; allows requests without content. */
export class ContentRule implements PolicyRule {
  readonly #maxLength: number;
  readonly #words: BlockedWords;
  readonly #patterns: readonly Pattern[];
  /** Summed program sizes of the patterns: the cost per content code unit. */
  readonly #costPerUnit: number;
  readonly #costBudget: number;

  constructor(opts: ContentRuleOptions) {
    this.#maxLength = opts.maxLength ?? Infinity;
    this.#words = new BlockedWords(opts.words ?? []);
    this.#patterns = opts.patterns ?? [];
    this.#costPerUnit = this.#patterns.reduce((sum, pattern) => sum + pattern.size, 0);
    this.#costBudget = opts.costBudget ?? PATTERN_COST_BUDGET;
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
    if (content.length * this.#costPerUnit > this.#costBudget) {
      return deny("forbidden", "the content is too costly to check against the blocked patterns");
    }
    for (const pattern of this.#patterns) {
      if (pattern.test(content)) {
        return deny("forbidden", `the content matches the blocked pattern ${show(pattern.source)}`);
      }
    }
    return ALLOW;
  }
}
