/**
 * `/api/oauth/authorize`: the consent page of the OAuth flow. The request is checked first
 * (`checkAuthorizeRequest`): while its redirect URI is not known to be safe, problems are shown
 * here and never redirected (no open redirect); after, they go back to the app. A browser without
 * a session is sent to log in (or register) and comes back; with one, the person sees the app's
 * redirect origin large (its identity), the self-declared `client_id` small and unverified, what
 * the policy allows in plain words, and which key to use, with Approve and Deny side by side. The
 * decision is a CSRF-protected POST to the same path; both answers redirect to the app.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import type { JSX } from "hono/jsx/jsx-runtime";
import type { KeyRecord } from "../../db/repos/keys.ts";
import type { AppEnv } from "../../http/types.ts";
import { describePolicy } from "../../policy/describe.ts";
import {
  approveAuthorization,
  type AuthorizeRequest,
  checkAuthorizeRequest,
  denyAuthorization,
} from "../../service/oauth.ts";
import { ownKeys } from "../../service/own.ts";
import { builtinPolicy } from "../../service/policies.ts";
import {
  accountIdOf,
  contentSecurityPolicy,
  csrfToken,
  page,
  readForm,
  viewerOf,
  webError,
} from "../context.ts";
import { CsrfField, Layout, Select, shorten } from "../layout.tsx";
import { MessagePage } from "./message.tsx";

/** The authorization parameters a consent form carries back. */
const PARAMS = [
  "response_type",
  "client_id",
  "redirect_uri",
  "scope",
  "state",
  "code_challenge",
  "code_challenge_method",
] as const;

/** The consent routes, mounted at `/api/oauth/authorize`. */
export function consentPages(): Hono<AppEnv> {
  const routes = new Hono<AppEnv>();
  routes.onError(webError);
  routes.get("/", async (c) => {
    const query = Object.fromEntries(PARAMS.map((name) => [name, c.req.query(name)]));
    const checked = await checkAuthorizeRequest(c.var.services, {
      ...query,
      prompt: c.req.query("prompt"),
    }, issuerOf(c));
    if (!checked.ok) return problem(c, checked.problem);
    const { request } = checked;
    if (!c.var.session || request.promptLogin) {
      const back = `/api/oauth/authorize?${new URLSearchParams(withoutPrompt(c.req.query()))}`;
      return c.redirect(`/login?${new URLSearchParams({ next: back })}`, 303);
    }
    return await consent(c, request);
  });
  routes.post("/", async (c) => {
    const form = readForm(c);
    const checked = await checkAuthorizeRequest(
      c.var.services,
      Object.fromEntries(PARAMS.map((name) => [name, form.raw(name)])),
      issuerOf(c),
    );
    if (!checked.ok) return problem(c, checked.problem);
    if (!c.var.session) return c.redirect("/login", 303);
    const { request } = checked;
    const location = form.text("decision") === "approve"
      ? await approveAuthorization(c.var.services, accountIdOf(c), request, form.text("key"))
      : denyAuthorization(request);
    return c.redirect(location, 303);
  });
  return routes;
}

/** This server's issuer identifier: its public origin. */
function issuerOf(c: Context<AppEnv>): string {
  return c.var.deps.origins()[0] ?? new URL(c.req.url).origin;
}

function withoutPrompt(query: Record<string, string>): Record<string, string> {
  const { prompt: _prompt, ...rest } = query;
  return rest;
}

function problem(
  c: Context<AppEnv>,
  problem: { kind: "page"; message: string } | { kind: "redirect"; location: string },
): Response {
  if (problem.kind === "redirect") return c.redirect(problem.location, 303);
  const viewer = viewerOf(c);
  return page(
    c,
    MessagePage({
      title: "This app's request cannot be used",
      message: problem.message,
      viewer,
      csrf: viewer ? csrfToken(c) : undefined,
    }),
    400,
  );
}

async function consent(c: Context<AppEnv>, request: AuthorizeRequest): Promise<Response> {
  const keys = await ownKeys(c.var.services, accountIdOf(c));
  const rules = builtinPolicy(request.policyName) ??
    (await c.var.services.repos.policies.getByName(request.policyName))?.rules ?? {};
  // The decision's redirect goes to the app: this page's forms may lead there.
  c.header("Content-Security-Policy", contentSecurityPolicy([request.origin]));
  return page(
    c,
    <ConsentPage
      c={c}
      request={request}
      keys={keys}
      words={describePolicy(rules)}
    />,
  );
}

function ConsentPage(
  props: { c: Context<AppEnv>; request: AuthorizeRequest; keys: KeyRecord[]; words: string[] },
): JSX.Element {
  const { request } = props;
  const csrf = csrfToken(props.c);
  return (
    <Layout title="Connect an app" viewer={viewerOf(props.c)} csrf={csrf}>
      <h1>An app wants to sign as you</h1>
      <p class="origin" aria-label="The app's address">{request.origin}</p>
      <p class="muted">
        Answers go to <code class="mono">{shorten(request.redirectUri, 60, 20)}</code>.
      </p>
      <p class="muted">
        {request.registeredName
          ? "Registered by this server's operator as "
          : "It calls itself (unverified) "}
        <strong>
          <bdi>{shorten(request.registeredName ?? request.clientId, 40, 10)}</bdi>
        </strong>.
      </p>
      <h2>If you approve, it may</h2>
      <ul>{props.words.map((line) => <li key={line}>{line}</li>)}</ul>
      <p class="muted">
        Policy “{request.policyName}”. You can revoke it at any time on your account page.
      </p>
      <form class="stack" method="post" action="/api/oauth/authorize">
        <CsrfField token={csrf} />
        {PARAMS.map((name) => (
          <input
            type="hidden"
            name={name}
            value={hiddenValue(request, name)}
          />
        ))}
        {props.keys.length > 1 && (
          <Select
            name="key"
            label="Sign with"
            options={props.keys.map((key) => ({ value: key.pubkey, label: key.name }))}
          />
        )}
        {props.keys.length === 1 && (
          <input
            type="hidden"
            name="key"
            value={props.keys[0]!.pubkey}
          />
        )}
        <div class="actions">
          <button type="submit" name="decision" value="approve">Approve</button>
          <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
        </div>
      </form>
    </Layout>
  );
}

function hiddenValue(request: AuthorizeRequest, name: (typeof PARAMS)[number]): string {
  switch (name) {
    case "response_type":
      return "code";
    case "client_id":
      return request.clientId;
    case "redirect_uri":
      return request.redirectUri;
    case "scope":
      return `policy:${request.policyName}`;
    case "state":
      return request.state;
    case "code_challenge":
      return request.codeChallenge;
    case "code_challenge_method":
      return "S256";
  }
}
