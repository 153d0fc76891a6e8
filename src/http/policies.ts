/**
 * `/api/policies`: list (stored and built-in), create, read, update and delete named policies.
 * An update is committed first, then every live authorization using the policy is re-sent to the
 * listener as an `upsert`. Built-in names are read-only (409).
 */
import { Hono } from "hono";
import { ForeignKeyViolationError, UniqueViolationError } from "../db/db.ts";
import { readJsonObject } from "./body.ts";
import { ApiError, quote } from "./errors.ts";
import { parseName, parseNameParam, rejectUnknownFields } from "./fields.ts";
import { BUILTIN_POLICY_RULES, type PolicyRules, validatePolicyRules } from "./policy_documents.ts";
import { builtinPolicy, pushPolicyChange } from "./policy_store.ts";
import type { AppEnv } from "./types.ts";
import { builtinPolicyView, policyView } from "./views.ts";

/** The policy routes, to mount at `/api/policies`. */
export function policyRoutes(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();

  routes.get("/", async (c) => {
    const stored = await c.var.repos.policies.list();
    const builtins = Object.entries(BUILTIN_POLICY_RULES).map(([name, rules]) =>
      builtinPolicyView(name, rules)
    );
    // A stored row under a built-in name is that built-in's snapshot: show the built-in once.
    const custom = stored.filter((p) => !builtinPolicy(p.name)).map(policyView);
    return c.json({ policies: [...builtins, ...custom] });
  });

  routes.post("/", async (c) => {
    const body = readJsonObject(c);
    rejectUnknownFields(body, ["name", "rules"]);
    const name = parseName(body, "name");
    refuseBuiltin(name, "create");
    const rules = parseRules(body.rules);
    try {
      const policy = await c.var.repos.policies.create({ id: crypto.randomUUID(), name, rules });
      return c.json(policyView(policy), 201);
    } catch (err: unknown) {
      if (!(err instanceof UniqueViolationError)) throw err;
      throw new ApiError(409, `Cannot create policy ${quote(name)}: it already exists`, {
        field: "name",
      });
    }
  });

  routes.get("/:name", async (c) => {
    const name = parseNameParam(c.req.param("name"), "policy");
    const builtin = builtinPolicy(name);
    if (builtin) return c.json(builtinPolicyView(name, builtin));
    const policy = await c.var.repos.policies.getByName(name);
    if (!policy) throw notFound(name);
    return c.json(policyView(policy));
  });

  routes.put("/:name", async (c) => {
    const name = parseNameParam(c.req.param("name"), "policy");
    refuseBuiltin(name, "change");
    const body = readJsonObject(c);
    rejectUnknownFields(body, ["rules"]);
    const rules = parseRules(body.rules);
    const policy = await c.var.repos.policies.updateRules(name, rules);
    if (!policy) throw notFound(name);
    const updated = await pushPolicyChange(c.var.repos, c.var.channel, name);
    c.var.log({
      level: "info",
      ns: "http.policies",
      msg: "Policy updated",
      requestId: c.var.requestId,
      policyName: name,
      liveAuthorizations: updated,
    });
    return c.json({ ...policyView(policy), updated_authorizations: updated });
  });

  routes.delete("/:name", async (c) => {
    const name = parseNameParam(c.req.param("name"), "policy");
    refuseBuiltin(name, "delete");
    try {
      if (!await c.var.repos.policies.delete(name)) throw notFound(name);
    } catch (err: unknown) {
      if (!(err instanceof ForeignKeyViolationError)) throw err;
      throw new ApiError(
        409,
        `Cannot delete policy ${quote(name)}: authorizations (revoked ones included) still use it`,
      );
    }
    return c.body(null, 204);
  });

  return routes;
}

function refuseBuiltin(name: string, action: string): void {
  if (builtinPolicy(name)) {
    throw new ApiError(409, `Cannot ${action} policy ${quote(name)}: it is built in`, {
      field: "name",
    });
  }
}

/** The `rules` field as a valid policy document, or 400 listing every problem. */
function parseRules(rules: unknown): PolicyRules {
  if (rules === undefined) throw new ApiError(400, "rules: is required", { field: "rules" });
  const parsed = validatePolicyRules(rules);
  if (parsed.ok) return parsed.rules;
  throw new ApiError(400, `rules: ${parsed.problems.join("; ")}`, {
    field: "rules",
    problems: parsed.problems,
  });
}

function notFound(name: string): ApiError {
  return new ApiError(404, `No policy named ${quote(name)}`);
}
