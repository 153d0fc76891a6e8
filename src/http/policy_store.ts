/**
 * Policies as the admin API resolves them: stored rows plus the built-ins of the policy module.
 *
 * Built-ins live in code and are listed from there. An authorization references policies by row
 * id, so the first authorization that names a built-in stores it as a row under its own name;
 * whenever a built-in is used again (and at start, via {@link syncBuiltinPolicies}) the row is
 * refreshed from the code if the two differ, and live authorizations using it are re-sent to the
 * listener. Built-in names cannot be created, changed or deleted through the API.
 */
import type { AuthorizationChannel } from "../channel/channel.ts";
import { UniqueViolationError } from "../db/db.ts";
import type { PolicyRecord } from "../db/repos/policies.ts";
import type { Repos } from "../db/repos/mod.ts";
import { ApiError, quote } from "./errors.ts";
import { BUILTIN_POLICY_RULES, type PolicyRules } from "./policy_documents.ts";

/** The built-in document named `name`, if there is one. */
export function builtinPolicy(name: string): PolicyRules | undefined {
  return Object.hasOwn(BUILTIN_POLICY_RULES, name) ? BUILTIN_POLICY_RULES[name] : undefined;
}

/**
 * Re-reads the live authorizations using policy `name` and sends an `upsert` for each, after the
 * policy change was committed. Returns how many were sent.
 */
export async function pushPolicyChange(
  repos: Repos,
  channel: AuthorizationChannel,
  name: string,
): Promise<number> {
  const live = await repos.authorizations.loadActiveByPolicy(name);
  for (const authorization of live) channel.send({ type: "upsert", authorization });
  return live.length;
}

/** The stored row for policy `name`, creating or refreshing it for a built-in; 404 when unknown. */
export async function policyForUse(
  repos: Repos,
  channel: AuthorizationChannel,
  name: string,
): Promise<PolicyRecord> {
  const builtin = builtinPolicy(name);
  const row = await repos.policies.getByName(name);
  if (!builtin) {
    if (!row) {
      throw new ApiError(404, `policy: no policy named ${quote(name)}`, { field: "policy" });
    }
    return row;
  }
  if (!row) {
    try {
      return await repos.policies.create({ id: crypto.randomUUID(), name, rules: builtin });
    } catch (err: unknown) {
      // Another request stored it first: use that row.
      if (!(err instanceof UniqueViolationError)) throw err;
      const raced = await repos.policies.getByName(name);
      if (raced) return raced;
      throw err;
    }
  }
  return await refreshBuiltin(repos, channel, row, builtin);
}

/** Refreshes every stored built-in row whose rules differ from the code (call at start). */
export async function syncBuiltinPolicies(
  repos: Repos,
  channel: AuthorizationChannel,
): Promise<string[]> {
  const refreshed: string[] = [];
  for (const [name, builtin] of Object.entries(BUILTIN_POLICY_RULES)) {
    const row = await repos.policies.getByName(name);
    if (row && canonicalJson(row.rules) !== canonicalJson(builtin)) {
      await refreshBuiltin(repos, channel, row, builtin);
      refreshed.push(name);
    }
  }
  return refreshed;
}

async function refreshBuiltin(
  repos: Repos,
  channel: AuthorizationChannel,
  row: PolicyRecord,
  builtin: PolicyRules,
): Promise<PolicyRecord> {
  if (canonicalJson(row.rules) === canonicalJson(builtin)) return row;
  const updated = await repos.policies.updateRules(row.name, builtin);
  await pushPolicyChange(repos, channel, row.name);
  return updated ?? row;
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
