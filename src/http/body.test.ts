import assert from "node:assert/strict";
import { WEB_FORM_PATHS } from "../web/web.ts";
import { readsBody } from "./body.ts";

Deno.test("readsBody() reads every /api body and the web pages' form posts, nothing else", () => {
  const read = [
    ["POST", "/api/keys"],
    ["PUT", "/api/policies/x"],
    ["GET", "/api/audit"],
    ["DELETE", "/api/authorizations/x"],
    ["POST", "/api"],
    ["POST", "/login"],
    ["POST", "/register"],
    ["POST", "/logout"],
    ["POST", "/account"],
    ["POST", "/account/security"],
    ["POST", "/account/apps/bunker"],
    ["POST", "/admin"],
    ["POST", "/admin/setup"],
  ];
  const unread = [
    ["GET", "/login"],
    ["PUT", "/login"],
    ["GET", "/account"],
    ["POST", "/"],
    ["POST", "/health"],
    ["POST", "/health/ready"],
    ["POST", "/metrics"],
    ["POST", "/static/app.css"],
    ["POST", "/apiary"],
    ["POST", "/login/"],
    ["POST", "/administrator"],
    ["POST", "/nope"],
  ];
  for (const [method, path] of read) {
    assert.equal(readsBody(method!, path!, WEB_FORM_PATHS), true, `${method} ${path}`);
  }
  for (const [method, path] of unread) {
    assert.equal(readsBody(method!, path!, WEB_FORM_PATHS), false, `${method} ${path}`);
  }
});
