/**
 * The admin API's view of policy documents: validated by the policy module, stored as given (a
 * JSON object in `policies.rules`), with the built-in policies (`full`, `social`, `read-only`).
 */
import { BUILTIN_POLICIES, parsePolicyDocument } from "../policy/document.ts";

/** A policy document as stored in `policies.rules`: a JSON object. */
export type PolicyRules = Record<string, unknown>;

/** Outcome of {@link validatePolicyRules}: the document, or every problem found. */
export type ValidatedPolicyRules =
  | { ok: true; rules: PolicyRules }
  | { ok: false; problems: string[] };

/** Built-in policies by name. */
export const BUILTIN_POLICY_RULES: Readonly<Record<string, PolicyRules>> =
  BUILTIN_POLICIES as unknown as Record<string, PolicyRules>;

/** Validates a policy document as given by an admin; the document is stored as given. */
export function validatePolicyRules(doc: unknown): ValidatedPolicyRules {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    return { ok: false, problems: ["the policy document must be a JSON object"] };
  }
  const parsed = parsePolicyDocument(doc);
  return parsed.ok ? { ok: true, rules: doc as PolicyRules } : parsed;
}
