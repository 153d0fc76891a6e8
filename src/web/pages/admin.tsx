/**
 * `/admin`, for accounts with the admin role: the instance's health and everything it holds,
 * disabling and enabling accounts (disabling after a confirmation page), creating invites
 * (the code shown once, in answer to the POST), and registering and removing OAuth apps
 * (removing after a confirmation page). `/admin/setup` makes the first admin account for
 * whoever holds the admin token, and only while there is no admin yet.
 */
import { serviceStatus } from "../../http/errors.ts";
import type { JSX } from "hono/jsx/jsx-runtime";
import type { Context } from "hono";
import { Hono } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { HEALTH_DB_TIMEOUT_MS } from "../../http/health.ts";
import { bearerMatches } from "../../http/auth.ts";
import { clientInfo, setSessionCookie } from "../../http/session.ts";
import type { AppEnv } from "../../http/types.ts";
import type { OAuthMode } from "../../service/deps.ts";
import { startSession } from "../../service/accounts.ts";
import {
  createAccount,
  createInvite,
  findAccount,
  listAccounts,
  listInvites,
  setAccountDisabled,
} from "../../service/account_admin.ts";
import { listAuthorizations } from "../../service/authorizations.ts";
import { invalid, notFound, quote } from "../../service/errors.ts";
import {
  listOAuthClients,
  registerOAuthClient,
  removeOAuthClient,
} from "../../service/oauth_clients.ts";
import { listPolicies } from "../../service/policies.ts";
import { parseDuration } from "../../domain/fields.ts";
import {
  accountIdOf,
  attempt,
  csrfToken,
  formErrors,
  page,
  readForm,
  requireAdmin,
  viewerOf,
} from "../context.ts";
import { CsrfField, Field, Layout } from "../layout.tsx";
import { oauthFormErrors, RemoveOAuthClientPage, uriLines } from "./admin_oauth.tsx";
import { AdminPage, type AdminProps, DisableAccountPage } from "./admin_views.tsx";

const NOTICES: Record<string, string> = {
  disabled: "Account disabled: its sessions ended and its apps are refused.",
  enabled: "Account enabled.",
  "oauth-registered": "OAuth app registered: its codes go only to the redirect URIs listed.",
  "oauth-replaced": "OAuth app updated: its name, redirect URIs and policy were replaced.",
  "oauth-removed": "OAuth app removed. Grants people already gave it stay until revoked.",
};
/** The throttle entry of `/admin/setup` (not a valid username, so no account shares it). */
const SETUP_THROTTLE_NAME = "<admin-setup>";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The admin routes, mounted at `/admin`. */
export function adminPages(): Hono<AppEnv> {
  // One setup at a time, so two at once cannot both find no admin and both make one.
  let setups: Promise<unknown> = Promise.resolve();
  return new Hono<AppEnv>()
    .get("/setup", async (c) => page(c, <SetupPage csrf={csrfToken(c)} done={await hasAdmin(c)} />))
    .post("/setup", (c) => {
      const done = setups.then(() => setup(c));
      setups = done.catch(() => undefined);
      return done;
    })
    .use("*", requireAdmin())
    .get("/", async (c) => {
      const notice = NOTICES[c.req.query("done") ?? ""];
      return page(c, AdminPage(await adminProps(c, { notice })));
    })
    .get("/accounts/:id/disable", async (c) => {
      const account = await findAccount(c.var.services, accountParam(c));
      return page(c, DisableAccountPage({ viewer: viewerOf(c)!, csrf: csrfToken(c), account }));
    })
    .post("/accounts/:id/disable", async (c) => {
      readForm(c);
      if (accountParam(c) === accountIdOf(c)) {
        throw invalid("account", "you cannot disable your own account: another admin can");
      }
      await setAccountDisabled(c.var.services, accountParam(c), true);
      return c.redirect("/admin?done=disabled#accounts", 303);
    })
    .post("/accounts/:id/enable", async (c) => {
      readForm(c);
      await setAccountDisabled(c.var.services, accountParam(c), false);
      return c.redirect("/admin?done=enabled#accounts", 303);
    })
    .post("/invites", async (c) => {
      const form = readForm(c);
      const { code } = await createInvite(c.var.services, {
        role: form.text("role") === "admin" ? "admin" : "user",
        expiresIn: parseDuration(form.text("expires_in")) ?? null,
        createdBy: accountIdOf(c),
      });
      return page(c, AdminPage(await adminProps(c, { inviteCode: code })), 201);
    })
    .post("/oauth-clients", async (c) => {
      const form = readForm(c);
      const values = {
        client_id: form.text("client_id"),
        name: form.text("name"),
        redirect_uris: form.raw("redirect_uris"),
        policy: form.text("policy"),
      };
      const lines = uriLines(values.redirect_uris);
      const replacing = await c.var.services.repos.oauth.getClient(values.client_id);
      const result = await attempt(() =>
        registerOAuthClient(c.var.services, {
          clientId: values.client_id,
          name: values.name,
          redirectUris: lines.map((line) => line.uri),
          policy: values.policy || null,
        })
      );
      if (result.ok) {
        const done = replacing ? "oauth-replaced" : "oauth-registered";
        return c.redirect(`/admin?done=${done}#oauth`, 303);
      }
      const errors = oauthFormErrors(result.error, lines);
      const props = await adminProps(c, { oauthForm: { errors, values } });
      return page(c, AdminPage(props), serviceStatus(result.error));
    })
    .get("/oauth-clients/:id/remove", async (c) => {
      const clientId = c.req.param("id");
      const client = await c.var.services.repos.oauth.getClient(clientId);
      if (!client) throw notFound(`No registered OAuth client ${quote(clientId)}`);
      return page(
        c,
        RemoveOAuthClientPage({
          viewer: viewerOf(c)!,
          csrf: csrfToken(c),
          client,
          mode: oauthMode(c),
        }),
      );
    })
    .post("/oauth-clients/:id/remove", async (c) => {
      readForm(c);
      await removeOAuthClient(c.var.services, c.req.param("id"));
      return c.redirect("/admin?done=oauth-removed#oauth", 303);
    });
}

function oauthMode(c: Context<AppEnv>): OAuthMode {
  return c.var.services.oauth?.mode ?? "off";
}

function accountParam(c: Context<AppEnv>): string {
  const id = c.req.param("id") ?? "";
  // Only ids reach the services from these paths (names could be confused with ids).
  return UUID.test(id) ? id : "00000000-0000-0000-0000-000000000000";
}

async function adminProps(
  c: Context<AppEnv>,
  extra: Pick<AdminProps, "notice" | "inviteCode" | "oauthForm">,
): Promise<AdminProps> {
  const deps = c.var.services;
  const authorization = c.req.query("authorization");
  const decision = c.req.query("decision");
  const filter = {
    authorization: authorization && UUID.test(authorization) ? authorization : undefined,
    decision: decision === "allow" || decision === "deny" ? decision : undefined,
  } as const;
  const [
    accounts,
    invites,
    keys,
    authorizations,
    policies,
    oauthClients,
    audit,
    databaseOk,
  ] = await Promise.all([
    listAccounts(deps),
    listInvites(deps),
    deps.repos.keys.list(),
    listAuthorizations(deps, { includeRevoked: true }),
    listPolicies(deps),
    listOAuthClients(deps),
    deps.repos.audit.latest({
      authorizationId: filter.authorization,
      decision: filter.decision,
      limit: 100,
    }),
    c.var.deps.pingDatabase(HEALTH_DB_TIMEOUT_MS).catch(() => false),
  ]);
  return {
    viewer: viewerOf(c)!,
    viewerId: accountIdOf(c),
    csrf: csrfToken(c),
    version: c.var.deps.version,
    databaseOk,
    signer: c.var.deps.signerStatus(),
    accounts,
    invites,
    keys,
    authorizations,
    policies: policies.map((policy) =>
      policy.builtin
        ? { name: policy.name, builtin: true }
        : { name: policy.record.name, builtin: false }
    ),
    oauthClients,
    oauthMode: oauthMode(c),
    audit,
    filter,
    ...extra,
  };
}

async function hasAdmin(c: Context<AppEnv>): Promise<boolean> {
  return (await listAccounts(c.var.services)).some((account) => account.role === "admin");
}

/** Makes the first admin account for the holder of the admin token, and logs it in. */
async function setup(c: Context<AppEnv>): Promise<Response> {
  const form = readForm(c);
  if (await hasAdmin(c)) return page(c, <SetupPage csrf={csrfToken(c)} done />, 409);
  const username = form.text("username");
  const again = (errors: Record<string, string>, status: ContentfulStatusCode) =>
    page(c, <SetupPage csrf={csrfToken(c)} username={username} errors={errors} />, status);

  // Guessing the token is throttled like a login: the same backoff per address.
  const throttle = c.var.services.accounts?.throttle;
  const { ip } = clientInfo(c);
  const now = c.var.services.now();
  const waitMs = throttle?.waitMs(SETUP_THROTTLE_NAME, ip, now) ?? 0;
  if (waitMs > 0) {
    c.header("Retry-After", String(Math.ceil(waitMs / 1000)));
    return again({ form: "Too many wrong tokens: wait before trying again" }, 429);
  }
  if (!bearerMatches(form.raw("token"), c.var.deps.adminTokenHash)) {
    throttle?.failed(SETUP_THROTTLE_NAME, ip, now);
    return again({ token: "This is not the server's admin token" }, 401);
  }
  const result = await attempt(() =>
    createAccount(c.var.services, { username, password: form.raw("password"), role: "admin" })
  );
  if (!result.ok) {
    return again(formErrors(result.error, ["username", "password"]), serviceStatus(result.error));
  }
  const session = await startSession(c.var.services, result.value.id, clientInfo(c));
  setSessionCookie(c, session.token, session.expiresAt);
  return c.redirect("/admin", 303);
}

function SetupPage(
  props: { csrf: string; done?: boolean; username?: string; errors?: Record<string, string> },
): JSX.Element {
  const errors = props.errors ?? {};
  return (
    <Layout title="Set up">
      <h1>Set up the first admin</h1>
      {props.done
        ? (
          <p>
            This server has an admin already. <a href="/login">Log in</a>.
          </p>
        )
        : (
          <form class="stack" method="post" action="/admin/setup">
            <CsrfField token={props.csrf} />
            {errors.form && <p class="alert" role="alert">{errors.form}</p>}
            <Field
              name="token"
              label="Admin token"
              hint="From the admin.token file in the data dir, or KEYCAST_ADMIN_TOKEN."
              type="password"
              autocomplete="off"
              error={errors.token}
              required
              maxlength={512}
            />
            <Field
              name="username"
              label="Username"
              value={props.username}
              error={errors.username}
              autocomplete="username"
              required
              maxlength={64}
            />
            <Field
              name="password"
              label="Password"
              hint="At least 12 characters."
              type="password"
              autocomplete="new-password"
              error={errors.password}
              required
              minlength={12}
              maxlength={1024}
            />
            <div class="actions">
              <button type="submit">Create admin account</button>
            </div>
          </form>
        )}
    </Layout>
  );
}
