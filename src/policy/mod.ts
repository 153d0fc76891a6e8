/**
 * Policies: the document format (`document.ts`), its validation, and the rules compiled from it.
 * The listener calls {@link compilePolicy} once per authorization and `check` for every request.
 */
export {
  BUILTIN_POLICIES,
  type ContentRules,
  DANGEROUS_KINDS,
  type KindSpec,
  parsePolicyDocument,
  type PolicyDocument,
  type RateLimit,
} from "./document.ts";
export { type CompiledPolicy, type CompileOptions, compilePolicy } from "./compile.ts";
export {
  ALLOW,
  deny,
  PipeRule,
  type PolicyContext,
  type PolicyRequest,
  type PolicyRule,
  type PolicyVerdict,
} from "./rule.ts";
export { SESSION_METHODS } from "./methods.ts";
