/**
 * The OAuth apps part of `/admin`: the clients an admin registered (each pins the redirect URIs
 * its codes may go to), the form that registers one with its field parsing and errors, and the
 * confirmation step of removing one.
 */
import type { JSX } from "hono/jsx/jsx-runtime";
import type { OAuthClientRecord } from "../../db/repos/oauth.ts";
import type { OAuthMode } from "../../service/deps.ts";
import type { ServiceError } from "../../service/errors.ts";
import { DEFAULT_SCOPE_POLICY } from "../../service/oauth.ts";
import { formErrors, plainMessage } from "../context.ts";
import { CsrfField, Field, Layout, Select, type Viewer, when } from "../layout.tsx";

/** What the OAuth apps section shows. */
export interface OAuthAppsProps {
  csrf: string;
  clients: OAuthClientRecord[];
  /** Policies the registration form offers. */
  policies: { name: string }[];
  /** Which apps the server lets ask (`serve --oauth`). */
  mode: OAuthMode;
  /** Problems of a registration just refused, by field (`form` for the form as a whole). */
  errors?: Record<string, string>;
  /** The refused registration's input, shown again. */
  values?: Record<string, string>;
}

/** Longest text the redirect URIs field takes, in characters. */
const MAX_REDIRECT_URIS_CHARS = 8_000;

/** The section of `/admin` with the registered OAuth apps and the form to register one. */
export function OAuthAppsSection(props: OAuthAppsProps): JSX.Element {
  const errors = props.errors ?? {};
  const values = props.values ?? {};
  return (
    <>
      <h2 id="oauth">OAuth apps</h2>
      <p class="muted">{MODE_TEXT[props.mode]}</p>
      {props.clients.length === 0
        ? <p>No OAuth apps registered yet — register one below.</p>
        : (
          <table class="cards">
            <thead>
              <tr>
                <th>Client id</th>
                <th>Name</th>
                <th>Redirect URIs</th>
                <th>Policy</th>
                <th>Registered</th>
                <th>
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {props.clients.map((client) => (
                <tr>
                  <td data-label="Client id">
                    <code class="mono">{client.clientId}</code>
                  </td>
                  <td data-label="Name">
                    <strong>{client.name}</strong>
                  </td>
                  <td data-label="Redirect URIs">
                    {client.redirectUris.map((uri) => (
                      <div>
                        <code class="mono">{uri}</code>
                      </div>
                    ))}
                  </td>
                  <td data-label="Policy">{policyText(client.policyName)}</td>
                  <td data-label="Registered">{when(client.createdAt)}</td>
                  <td>
                    <a class="button danger" href={removePath(client.clientId)}>
                      Remove <span class="visually-hidden">{client.name}</span>
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      <section class="panel">
        <h3>Register an app</h3>
        <form class="stack" method="post" action="/admin/oauth-clients#oauth">
          <CsrfField token={props.csrf} />
          {errors.form && <p class="alert" role="alert">{errors.form}</p>}
          <Field
            name="client_id"
            label="Client id"
            hint="The client_id the app sends. Registering one that exists replaces it."
            value={values.client_id}
            error={errors.client_id}
            autocomplete="off"
            required
            maxlength={200}
            mono
          />
          <Field
            name="name"
            label="Name"
            hint="People see it on the consent page, marked as registered by this server."
            value={values.name}
            error={errors.name}
            autocomplete="off"
            required
            maxlength={100}
          />
          <Field
            name="redirect_uris"
            label="Redirect URIs"
            hint={"One per line, each matched exactly. Any scheme, like com.example.app:/callback " +
              "for a mobile app; never javascript:, data: or a #fragment."}
            value={values.redirect_uris}
            error={errors.redirect_uris}
            required
            multiline
            maxlength={MAX_REDIRECT_URIS_CHARS}
            mono
          />
          <Select
            name="policy"
            label="Policy"
            hint="What its grants may do, unless the app asks for another policy."
            value={values.policy ?? ""}
            error={errors.policy}
            options={[
              { value: "", label: `${DEFAULT_SCOPE_POLICY} (the server's default)` },
              ...props.policies.map((policy) => ({ value: policy.name, label: policy.name })),
            ]}
          />
          <div class="actions">
            <button type="submit">Register app</button>
          </div>
        </form>
      </section>
    </>
  );
}

/** The non-empty lines of the redirect URIs field, trimmed, with their line numbers. */
export function uriLines(text: string): { line: number; uri: string }[] {
  return text.split(/\r?\n/)
    .map((uri, i) => ({ line: i + 1, uri: uri.trim() }))
    .filter((line) => line.uri !== "");
}

/** A refused registration's errors by the form's fields; a bad URI's error names its line. */
export function oauthFormErrors(
  error: ServiceError,
  lines: { line: number; uri: string }[],
): Record<string, string> {
  const index = /^redirect_uris\[(\d+)\]$/.exec(error.field ?? "")?.[1];
  const line = index === undefined ? undefined : lines[Number(index)]?.line;
  if (line !== undefined) return { redirect_uris: `Line ${line}: ${plainMessage(error)}` };
  return formErrors(error, ["client_id", "name", "redirect_uris", "policy"]);
}

const MODE_TEXT: Record<OAuthMode, string> = {
  open: "Any web app may ask people to sign in with an https:// redirect URI. Registering an " +
    "app pins its redirect URIs, allows other schemes (mobile apps) and names it on the " +
    "consent page.",
  registered: "Only the apps registered here may ask people to sign in, and only with their " +
    "registered redirect URIs.",
  off: "OAuth is turned off on this server (serve --oauth): registrations apply once it is on.",
};

function policyText(policyName: string | null): string {
  return policyName ?? `${DEFAULT_SCOPE_POLICY} (default)`;
}

function removePath(clientId: string): string {
  return `/admin/oauth-clients/${encodeURIComponent(clientId)}/remove`;
}

/** The confirmation step of removing a registered OAuth app. */
export function RemoveOAuthClientPage(
  props: { viewer: Viewer; csrf: string; client: OAuthClientRecord; mode: OAuthMode },
): JSX.Element {
  const { client } = props;
  return (
    <Layout title={`Remove ${client.name}`} viewer={props.viewer} csrf={props.csrf}>
      <h1>Remove the OAuth app {client.name}?</h1>
      <dl class="facts">
        <dt>Client id</dt>
        <dd>
          <code class="mono">{client.clientId}</code>
        </dd>
        <dt>Redirect URIs</dt>
        <dd>
          {client.redirectUris.map((uri) => (
            <div>
              <code class="mono">{uri}</code>
            </div>
          ))}
        </dd>
        <dt>Policy</dt>
        <dd>{policyText(client.policyName)}</dd>
      </dl>
      <p>{REMOVAL_TEXT[props.mode]}</p>
      <p>People who already approved it keep their grants until the grants are revoked.</p>
      <form method="post" action={removePath(client.clientId)} class="actions">
        <CsrfField token={props.csrf} />
        <button type="submit" class="danger">Remove {client.name}</button>
        <a href="/admin#oauth">Keep it registered</a>
      </form>
    </Layout>
  );
}

const REMOVAL_TEXT: Record<OAuthMode, string> = {
  open: "It becomes an unregistered app: its redirect URIs are no longer pinned (any https:// " +
    "URI is accepted for its client id), URIs of other schemes stop working, and the consent " +
    "page no longer names it.",
  registered: "It can no longer ask anyone to sign in: this server accepts only registered apps.",
  off: "OAuth is turned off on this server, so nothing changes until it is turned on.",
};
