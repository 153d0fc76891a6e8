/**
 * `/account`: a logged-in person's keys and apps. Adding a key, connecting an app (a new
 * `bunker://` link shown once, or a pasted `nostrconnect://` link reviewed, then approved) and
 * revoking one (after a confirmation page) are POST forms with CSRF tokens. Every lookup goes
 * through the `own` services, so another person's app is a 404 here too.
 */
import { serviceStatus } from "../../http/errors.ts";
import type { Context } from "hono";
import { Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { NostrConnectError, parseNostrConnectUri } from "../../nip46/nostrconnect.ts";
import type { AppEnv } from "../../http/types.ts";
import { listPolicies } from "../../service/policies.ts";
import {
  addOwnKey,
  connectOwnApp,
  createOwnBunker,
  ownActivity,
  ownApp,
  ownAppActivity,
  ownApps,
  ownKeys,
  revokeOwnApp,
} from "../../service/own.ts";
import type { ServiceDeps } from "../../service/deps.ts";
import {
  accountIdOf,
  attempt,
  csrfToken,
  formErrors,
  page,
  plainMessage,
  readForm,
  requireLogin,
  viewerOf,
} from "../context.ts";
import {
  AccountPage,
  type AccountProps,
  AppActivityPage,
  BunkerCreatedPage,
  type PolicyChoice,
  ReviewAppPage,
  RevokeAppPage,
} from "./account_views.tsx";

/** Notices `/account?done=…` may show: fixed texts, so nothing from the URL is echoed. */
const NOTICES: Record<string, string> = {
  key: "Key added.",
  connected: "App connected: it can use your key now.",
  revoked: "App revoked: its next request will be refused.",
};

/** The account routes, mounted at `/account`. */
export function accountPages(): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .use("*", requireLogin())
    .get("/", async (c) => {
      const notice = NOTICES[c.req.query("done") ?? ""];
      return page(c, AccountPage(await accountProps(c, { notice })));
    })
    .post("/keys", async (c) => {
      const form = readForm(c);
      const name = form.text("name");
      const result = await attempt(() =>
        addOwnKey(c.var.services, accountIdOf(c), {
          name,
          secret: form.raw("nsec") || null,
          secretPassword: form.raw("nsec_password") || null,
        })
      );
      if (result.ok) return c.redirect("/account?done=key#keys", 303);
      const errors = formErrors(result.error, ["name", "nsec", "nsec_password"], {
        secret: "nsec",
        password: "nsec_password",
      });
      const props = await accountProps(c, { errors, values: { name } });
      return page(c, AccountPage(props), serviceStatus(result.error));
    })
    .post("/apps/bunker", async (c) => {
      const form = readForm(c);
      const values = {
        app_name: form.text("app_name"),
        key: form.text("key"),
        policy: form.text("policy"),
      };
      const result = await attempt(() =>
        createOwnBunker(c.var.services, accountIdOf(c), {
          appName: values.app_name,
          key: values.key || null,
          policy: values.policy || null,
        })
      );
      if (!result.ok) {
        const errors = formErrors(result.error, ["app_name", "key", "policy"], {
          appName: "app_name",
        });
        const props = await accountProps(c, { errors, values });
        return page(c, AccountPage(props), serviceStatus(result.error));
      }
      const policies = await policyChoices(c.var.services);
      const policyName = result.value.record.policyName ?? "full";
      const policy = policies.find((choice) => choice.name === policyName) ??
        { name: policyName, rules: {} };
      // Rendered in answer to the POST (never a redirect): the link stays out of URLs and history.
      return page(
        c,
        BunkerCreatedPage({
          viewer: viewerOf(c)!,
          csrf: csrfToken(c),
          appName: values.app_name,
          bunkerUrl: result.value.bunkerUrl,
          policy,
        }),
        201,
      );
    })
    .post("/apps/nostrconnect", async (c) => {
      const form = readForm(c);
      const uri = form.text("uri");
      if (form.text("step") !== "approve") return await review(c, uri);
      const result = await attempt(() =>
        connectOwnApp(c.var.services, accountIdOf(c), {
          uri,
          key: form.text("key") || null,
          policy: form.text("policy") || null,
          label: form.text("label") || null,
        })
      );
      if (result.ok) return c.redirect("/account?done=connected#apps", 303);
      return await review(c, uri, plainMessage(result.error), serviceStatus(result.error));
    })
    .get("/apps/:id", async (c) => {
      const app = await findApp(c, c.req.param("id"));
      const rows = await ownAppActivity(c.var.services, accountIdOf(c), app.record.id);
      return page(c, AppActivityPage({ viewer: viewerOf(c)!, csrf: csrfToken(c), app, rows }));
    })
    .get("/apps/:id/revoke", async (c) => {
      const app = await findApp(c, c.req.param("id"));
      return page(c, RevokeAppPage({ viewer: viewerOf(c)!, csrf: csrfToken(c), app }));
    })
    .post("/apps/:id/revoke", async (c) => {
      readForm(c);
      await revokeOwnApp(c.var.services, accountIdOf(c), c.req.param("id"));
      return c.redirect("/account?done=revoked#apps", 303);
    });
}

async function accountProps(
  c: Context<AppEnv>,
  extra: Pick<AccountProps, "notice" | "errors" | "values">,
): Promise<AccountProps> {
  const accountId = accountIdOf(c);
  const [keys, apps, activity, policies] = await Promise.all([
    ownKeys(c.var.services, accountId),
    ownApps(c.var.services, accountId),
    ownActivity(c.var.services, accountId, 20),
    policyChoices(c.var.services),
  ]);
  return { viewer: viewerOf(c)!, csrf: csrfToken(c), keys, apps, activity, policies, ...extra };
}

/** The policies a person may choose from: the built-ins and the operator's. */
async function policyChoices(deps: ServiceDeps): Promise<PolicyChoice[]> {
  return (await listPolicies(deps)).map((policy) =>
    policy.builtin
      ? { name: policy.name, rules: policy.rules }
      : { name: policy.record.name, rules: policy.record.rules }
  );
}

/** The person's app `id` with its clients and counts (a 404 for anyone else's). */
async function findApp(c: Context<AppEnv>, id: string) {
  const record = await ownApp(c.var.services, accountIdOf(c), id);
  const apps = await ownApps(c.var.services, accountIdOf(c));
  return apps.find((app) => app.record.id === record.id) ??
    { record, clients: [], requests: 0, lastActivityAt: null };
}

/** The review page of a pasted nostrconnect link, or the account page with the link's problem. */
async function review(
  c: Context<AppEnv>,
  uri: string,
  problem?: string,
  status: ContentfulStatusCode = 200,
): Promise<Response> {
  let request;
  try {
    request = parseNostrConnectUri(uri);
  } catch (error: unknown) {
    if (!(error instanceof NostrConnectError)) throw error;
    const props = await accountProps(c, { errors: { uri: error.message } });
    return page(c, AccountPage(props), 400);
  }
  const accountId = accountIdOf(c);
  return page(
    c,
    ReviewAppPage({
      viewer: viewerOf(c)!,
      csrf: csrfToken(c),
      uri,
      request,
      keys: await ownKeys(c.var.services, accountId),
      policies: await policyChoices(c.var.services),
      errors: problem ? { form: problem } : undefined,
    }),
    status,
  );
}
