/**
 * Policies: stored rows plus the built-ins of the policy module.
 *
 * Built-ins live in code and are listed from there. An authorization references policies by row
 * id, so the first authorization that names a built-in stores it as a row under its own name;
 * whenever a built-in is used again (and at start, via {@link syncBuiltinPolicies}) the row is
 * refreshed from the code if the two differ, and live authorizations using it are re-sent to the
 * listener. Built-in names cannot be created, changed or deleted.
 */
import { ForeignKeyViolationError, UniqueViolationError } from "../db/db.ts";
import type { PolicyRecord } from "../db/repos/policies.ts";
import { BUILTIN_POLICIES, parsePolicyDocument } from "../policy/document.ts";
import type { ServiceDeps } from "./deps.ts";
import { conflict, invalid, notFound, quote } from "./errors.ts";

/** A policy document as stored in `policies.rules`: a JSON object. */
export type PolicyRules = Record<string, unknown>;

/** A policy as listed: stored, or built in (then without timestamps). */
export type ListedPolicy =
  | { builtin: false; record: PolicyRecord }
  | { builtin: true; name: string; rules: PolicyRules };

/** Built-in policies by name. */
export const BUILTIN_POLICY_RULES: Readonly<Record<string, PolicyRules>> = BUILTIN_POLICIES;

/** The built-in document named `name`, if there is one. */
export function builtinPolicy(name: string): PolicyRules | undefined {
  return Object.hasOwn(BUILTIN_POLICY_RULES, name) ? BUILTIN_POLICY_RULES[name] : undefined;
}

/**
 * Validates a policy document as given by an admin; returns it unchanged, or throws an `invalid`
 * error on `rules` listing every problem.
 */
export function checkPolicyRules(doc: unknown): PolicyRules {
  if (doc === undefined) throw invalid("rules", "is required");
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    const problem = "the policy document must be a JSON object";
    throw invalid("rules", problem, [problem]);
  }
  const parsed = parsePolicyDocument(doc);
  if (!parsed.ok) throw invalid("rules", parsed.problems.join("; "), parsed.problems);
  return doc as PolicyRules;
}

/** The built-ins, then the stored policies by name (a stored built-in snapshot is shown once). */
export async function listPolicies(deps: Pick<ServiceDeps, "repos">): Promise<ListedPolicy[]> {
  const stored = await deps.repos.policies.list();
  const builtins = Object.entries(BUILTIN_POLICY_RULES).map(([name, rules]) => ({
    builtin: true as const,
    name,
    rules,
  }));
  const custom = stored.filter((p) => !builtinPolicy(p.name)).map((record) => ({
    builtin: false as const,
    record,
  }));
  return [...builtins, ...custom];
}

/** One policy by name. */
export async function getPolicy(
  deps: Pick<ServiceDeps, "repos">,
  name: string,
): Promise<ListedPolicy> {
  const builtin = builtinPolicy(name);
  if (builtin) return { builtin: true, name, rules: builtin };
  const record = await deps.repos.policies.getByName(name);
  if (!record) throw notFound(`No policy named ${quote(name)}`);
  return { builtin: false, record };
}

/** Stores a new policy; `rules` must have passed {@link checkPolicyRules}. */
export async function createPolicy(
  deps: ServiceDeps,
  input: { name: string; rules: PolicyRules },
): Promise<PolicyRecord> {
  refuseBuiltin(input.name, "create");
  try {
    return await deps.repos.policies.create({ id: crypto.randomUUID(), ...input });
  } catch (error: unknown) {
    if (!(error instanceof UniqueViolationError)) throw error;
    throw conflict(`Cannot create policy ${quote(input.name)}: it already exists`, "name");
  }
}

/**
 * Replaces the rules of a stored policy, then re-sends every live authorization using it to the
 * listener. Returns the policy and how many authorizations were updated.
 */
export async function updatePolicy(
  deps: ServiceDeps,
  input: { name: string; rules: PolicyRules },
): Promise<{ record: PolicyRecord; updatedAuthorizations: number }> {
  refuseBuiltin(input.name, "change");
  const record = await deps.repos.policies.updateRules(input.name, input.rules);
  if (!record) throw notFound(`No policy named ${quote(input.name)}`);
  const updatedAuthorizations = await deps.changes.policyChanged(input.name);
  deps.log({
    level: "info",
    ns: "service.policies",
    msg: "Policy updated",
    policyName: input.name,
    liveAuthorizations: updatedAuthorizations,
  });
  return { record, updatedAuthorizations };
}

/**
 * Deletes a stored policy that no live (not revoked) authorization uses — expired ones count as
 * live — and is a `conflict` while one does. Revoked authorizations that used it are detached in
 * the same transaction, so from then on they show no policy (`policy: null`).
 */
export async function deletePolicy(deps: ServiceDeps, name: string): Promise<void> {
  refuseBuiltin(name, "delete");
  let outcome: "deleted" | "missing" | "in-use";
  try {
    outcome = await deps.repos.policies.deleteDetachingRevoked(name);
  } catch (error: unknown) {
    // An authorization created with the policy while it was being deleted.
    if (!(error instanceof ForeignKeyViolationError)) throw error;
    outcome = "in-use";
  }
  if (outcome === "missing") throw notFound(`No policy named ${quote(name)}`);
  if (outcome === "in-use") {
    throw conflict(
      `Cannot delete policy ${quote(name)}: authorizations that are not revoked still use it ` +
        "(revoke them first)",
    );
  }
}

/** The stored row for policy `name`, creating or refreshing it for a built-in. */
export async function policyForUse(deps: ServiceDeps, name: string): Promise<PolicyRecord> {
  const builtin = builtinPolicy(name);
  const row = await deps.repos.policies.getByName(name);
  if (!builtin) {
    if (!row) throw notFound(`policy: no policy named ${quote(name)}`, "policy");
    return row;
  }
  if (!row) {
    try {
      return await deps.repos.policies.create({ id: crypto.randomUUID(), name, rules: builtin });
    } catch (error: unknown) {
      // Another request stored it first: use that row.
      if (!(error instanceof UniqueViolationError)) throw error;
      const raced = await deps.repos.policies.getByName(name);
      if (raced) return raced;
      throw error;
    }
  }
  return await refreshBuiltin(deps, row, builtin);
}

/** Refreshes every stored built-in row whose rules differ from the code (call at start). */
export async function syncBuiltinPolicies(deps: ServiceDeps): Promise<string[]> {
  const refreshed: string[] = [];
  for (const [name, builtin] of Object.entries(BUILTIN_POLICY_RULES)) {
    const row = await deps.repos.policies.getByName(name);
    if (row && canonicalJson(row.rules) !== canonicalJson(builtin)) {
      await refreshBuiltin(deps, row, builtin);
      refreshed.push(name);
    }
  }
  return refreshed;
}

async function refreshBuiltin(
  deps: ServiceDeps,
  row: PolicyRecord,
  builtin: PolicyRules,
): Promise<PolicyRecord> {
  if (canonicalJson(row.rules) === canonicalJson(builtin)) return row;
  const updated = await deps.repos.policies.updateRules(row.name, builtin);
  await deps.changes.policyChanged(row.name);
  return updated ?? row;
}

function refuseBuiltin(name: string, action: string): void {
  if (builtinPolicy(name)) {
    throw conflict(`Cannot ${action} policy ${quote(name)}: it is built in`, "name");
  }
}

/** JSON text with object keys sorted at every level (jsonb does not keep key order). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(v).sort()) sorted[key] = (v as Record<string, unknown>)[key];
    return sorted;
  });
}
