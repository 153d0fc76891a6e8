/**
 * The admin API's view of policy documents, decoupled from the policy module's own types.
 *
 * SEAM(policy): `src/policy/document.ts` (written in parallel) will export `parsePolicyDocument`
 * and `BUILTIN_POLICIES` (`full`, `social`, `read-only`). Until it lands, the stand-in below
 * accepts any JSON object and knows no built-ins. When it does, import both and make the two
 * exports below delegate:
 *
 * ```ts
 * import { BUILTIN_POLICIES, parsePolicyDocument } from "../policy/document.ts";
 * export const BUILTIN_POLICY_RULES = BUILTIN_POLICIES as unknown as Record<string, PolicyRules>;
 * // in validatePolicyRules: const parsed = parsePolicyDocument(doc);
 * //   return parsed.ok ? { ok: true, rules: doc as PolicyRules } : parsed;
 * ```
 */

/** A policy document as stored in `policies.rules`: a JSON object. */
export type PolicyRules = Record<string, unknown>;

/** Outcome of {@link validatePolicyRules}: the document, or every problem found. */
export type ValidatedPolicyRules =
  | { ok: true; rules: PolicyRules }
  | { ok: false; problems: string[] };

/** Built-in policies by name; empty until the policy module lands (see the SEAM note). */
export const BUILTIN_POLICY_RULES: Readonly<Record<string, PolicyRules>> = {};

/** Validates a policy document as given by an admin; the document is stored as given. */
export function validatePolicyRules(doc: unknown): ValidatedPolicyRules {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    return { ok: false, problems: ["the policy document must be a JSON object"] };
  }
  return { ok: true, rules: doc as PolicyRules };
}
