/**
 * `/api/policies`: list (stored and built-in), create, read, update and delete named policies.
 * An update reaches every live authorization using the policy (see `src/service/policies.ts`).
 */
import { Hono } from "hono";
import * as v from "valibot";
import {
  checkPolicyRules,
  createPolicy,
  deletePolicy,
  getPolicy,
  listPolicies,
  updatePolicy,
} from "../service/policies.ts";
import { fields, jsonBody, nameParam, nameSchema } from "./schemas.ts";
import type { AppEnv } from "./types.ts";
import { listedPolicyView, policyView } from "./views.ts";

const CreateBody = fields({ name: nameSchema, rules: v.unknown() });
const UpdateBody = fields({ rules: v.unknown() });

/** The policy routes, to mount at `/api/policies`. */
export function policyRoutes(): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/", async (c) => {
      const policies = await listPolicies(c.var.services);
      return c.json({ policies: policies.map(listedPolicyView) });
    })
    .post("/", jsonBody(CreateBody), async (c) => {
      const { name, rules } = c.req.valid("json");
      const policy = await createPolicy(c.var.services, { name, rules: checkPolicyRules(rules) });
      return c.json(policyView(policy), 201);
    })
    .get("/:name", async (c) => {
      const name = nameParam(c.req.param("name"), "policy");
      return c.json(listedPolicyView(await getPolicy(c.var.services, name)));
    })
    .put("/:name", jsonBody(UpdateBody), async (c) => {
      const name = nameParam(c.req.param("name"), "policy");
      const { rules } = c.req.valid("json");
      const updated = await updatePolicy(c.var.services, { name, rules: checkPolicyRules(rules) });
      return c.json({
        ...policyView(updated.record),
        updated_authorizations: updated.updatedAuthorizations,
      });
    })
    .delete("/:name", async (c) => {
      await deletePolicy(c.var.services, nameParam(c.req.param("name"), "policy"));
      return c.body(null, 204);
    });
}
