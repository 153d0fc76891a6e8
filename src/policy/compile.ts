/**
 * Compiling a stored policy document into the pipe of rules the listener runs for every request.
 */
import { ContentRule } from "./content_rule.ts";
import { CounterpartyPresentRule, CounterpartyRule, SelfOnlyRule } from "./counterparty_rule.ts";
import { DEFAULT_MAX_FUTURE_SECONDS, FutureCreatedAtRule } from "./created_at_rule.ts";
import type { PolicyDocument } from "./document.ts";
import { DangerousKindRule, KindRule, SignKindPresentRule } from "./kind_rule.ts";
import { MethodRule } from "./method_rule.ts";
import type { Pattern } from "./pattern.ts";
import { RateLimitRule } from "./rate_limit_rule.ts";
import {
  deny,
  PipeRule,
  type PolicyContext,
  type PolicyRequest,
  type PolicyRule,
  type PolicyVerdict,
} from "./rule.ts";
import { validatePolicyDocument } from "./validate.ts";

/** Options of {@link compilePolicy}. */
export interface CompileOptions {
  /** Most rate-limit buckets kept. Default 10,000. */
  maxBuckets?: number;
}

/** A policy ready to check requests; holds its rate-limit state. */
export interface CompiledPolicy extends PolicyRule {
  /** The validated document, or undefined when the document was invalid (then all is denied). */
  readonly document: PolicyDocument | undefined;
}

/**
 * Compiles `doc` (as stored; `null`/`undefined` = the default `{}`: everything but the dangerous
 * kinds, `created_at` at most 15 minutes ahead). Never throws: a malformed document compiles to a policy that denies every request with
 * `forbidden: the authorization's policy is invalid (…)`.
 */
export function compilePolicy(doc: unknown, opts: CompileOptions = {}): CompiledPolicy {
  try {
    return compileValid(doc, opts);
  } catch (error: unknown) {
    // Only a bug (or a document object with throwing getters) gets here: deny, never crash.
    const message = error instanceof Error ? error.message : String(error);
    return denyAll(`the authorization's policy is invalid (it could not be compiled: ${message})`);
  }
}

function compileValid(doc: unknown, opts: CompileOptions): CompiledPolicy {
  const validated = validatePolicyDocument(doc ?? {});
  if (!validated.ok) {
    const [first, ...rest] = validated.problems;
    const more = rest.length > 0 ? `; and ${rest.length} more` : "";
    return denyAll(`the authorization's policy is invalid (${first}${more})`);
  }
  const rules = buildRules(validated.policy, validated.patterns, opts);
  const pipe = new PipeRule(rules);
  return {
    document: validated.policy,
    check: (request, ctx) => pipe.check(request, ctx),
  };
}

/**
 * The rules in order: rate limits first (every request spends a token, denied ones too), then
 * the shape checks, methods, kinds, `created_at`, counterparties, and the content filter (the
 * costliest) last.
 */
function buildRules(
  doc: PolicyDocument,
  patterns: Pattern[],
  opts: CompileOptions,
): PolicyRule[] {
  const rules: PolicyRule[] = [];
  const limits = doc.rate_limits;
  if (limits?.per_client || limits?.per_method) {
    rules.push(new RateLimitRule({ ...toRateOptions(limits), maxBuckets: opts.maxBuckets }));
  }
  rules.push(new SignKindPresentRule(), new CounterpartyPresentRule());
  if (doc.methods) rules.push(new MethodRule(doc.methods));
  rules.push(new DangerousKindRule(doc.allow_dangerous_kinds ?? []));
  if (doc.kinds) rules.push(new KindRule(doc.kinds));
  rules.push(new FutureCreatedAtRule(doc.max_future_seconds ?? DEFAULT_MAX_FUTURE_SECONDS));
  if (doc.encrypt_to_self) rules.push(new SelfOnlyRule());
  if (doc.counterparties) rules.push(new CounterpartyRule(doc.counterparties));
  const content = doc.content;
  if (content) {
    rules.push(
      new ContentRule({
        maxLength: content.max_length,
        words: content.blocked_words,
        patterns,
      }),
    );
  }
  return rules;
}

function toRateOptions(limits: NonNullable<PolicyDocument["rate_limits"]>) {
  return { perClient: limits.per_client, perMethod: limits.per_method };
}

function denyAll(message: string): CompiledPolicy {
  const verdict = deny("forbidden", message);
  return {
    document: undefined,
    check: (_request: PolicyRequest, _ctx: PolicyContext): PolicyVerdict => verdict,
  };
}
