/**
 * The views of `/account`: a person's keys, connecting an app, the apps connected and what they
 * did. Handlers are in `account.tsx`.
 */
import type { JSX } from "hono/jsx/jsx-runtime";
import { npubEncode } from "nostr-tools/nip19";
import type { AuditRecord } from "../../db/repos/audit.ts";
import type { KeyRecord } from "../../db/repos/keys.ts";
import type { NostrConnectRequest } from "../../nip46/nostrconnect.ts";
import { kindLabel } from "../../nostr/kinds.ts";
import type { OwnApp } from "../../service/own.ts";
import {
  CsrfField,
  Field,
  Layout,
  Npub,
  Select,
  shorten,
  ShownOnce,
  type Viewer,
  when,
} from "../layout.tsx";
import { describePolicy } from "../../policy/describe.ts";
import { QrSvg } from "../qr.tsx";

type Errors = Record<string, string | undefined>;

/** A policy a person may pick, with its rules for the plain-words summary. */
export interface PolicyChoice {
  name: string;
  rules: Record<string, unknown>;
}

/** Everything the account page shows. */
export interface AccountProps {
  viewer: Viewer;
  csrf: string;
  keys: KeyRecord[];
  apps: OwnApp[];
  activity: AuditRecord[];
  policies: PolicyChoice[];
  notice?: string;
  errors?: Errors;
  /** Input to keep in a form shown again with errors (never secrets). */
  values?: Record<string, string>;
}

/** The name an app goes by: its label, else what it said about itself (unverified). */
export function appName(app: OwnApp): string {
  if (app.record.label) return app.record.label;
  const stated = app.clients.map((client) => client.clientMetadata?.name)
    .find((name) => typeof name === "string");
  return typeof stated === "string" ? `${stated} (unverified name)` : "Unnamed app";
}

/** `/account`. */
export function AccountPage(props: AccountProps): JSX.Element {
  const errors = props.errors ?? {};
  const names = new Map(props.apps.map((app) => [app.record.id, appName(app)]));
  return (
    <Layout title="Your account" viewer={props.viewer} csrf={props.csrf}>
      <h1>Your account</h1>
      {props.notice && <p class="notice" role="status">{props.notice}</p>}
      {errors.form && <p class="alert" role="alert">{errors.form}</p>}

      <h2 id="keys">Your keys</h2>
      {props.keys.map((key, i) => (
        <section class="panel">
          <h3>{key.name}</h3>
          <p>
            <Npub pubkey={key.pubkey} id={`npub-${i}`} />
          </p>
          <details>
            <summary>Show the npub as a QR code</summary>
            <QrSvg
              text={`nostr:${npubEncode(key.pubkey)}`}
              label={`QR code of the npub of ${key.name}`}
            />
          </details>
        </section>
      ))}
      <details open={Boolean(errors.name || errors.nsec || errors.nsec_password)}>
        <summary>Add a key</summary>
        <form class="stack" method="post" action="/account/keys">
          <CsrfField token={props.csrf} />
          <Field
            name="name"
            label="Name"
            value={props.values?.name}
            error={errors.name}
            required
            maxlength={64}
          />
          <Field
            name="nsec"
            label="Bring a key (optional)"
            hint="nsec, hex or ncryptsec. Leave empty for a new key."
            type="password"
            autocomplete="off"
            error={errors.nsec}
            mono
          />
          <Field
            name="nsec_password"
            label="Its password (ncryptsec only)"
            type="password"
            autocomplete="off"
            error={errors.nsec_password}
          />
          <div class="actions">
            <button type="submit">Add key</button>
          </div>
        </form>
      </details>

      <h2 id="connect">Connect an app</h2>
      <ConnectForms {...props} errors={errors} />

      <h2 id="apps">Connected apps</h2>
      {props.apps.length === 0
        ? (
          <p>
            No apps connected yet — <a href="#connect">connect one</a>.
          </p>
        )
        : <AppsTable apps={props.apps} />}

      <h2 id="activity">Recent activity</h2>
      {props.activity.length === 0
        ? <p>Nothing yet: what your apps ask for will show here.</p>
        : <ActivityTable rows={props.activity} names={names} />}
    </Layout>
  );
}

function KeySelect(props: { keys: KeyRecord[]; value?: string }): JSX.Element | null {
  if (props.keys.length < 2) return null;
  return (
    <Select
      name="key"
      label="Key"
      value={props.value}
      options={props.keys.map((key) => ({ value: key.pubkey, label: key.name }))}
    />
  );
}

function PolicySelect(props: { policies: PolicyChoice[]; value?: string }): JSX.Element {
  return (
    <div>
      <Select
        name="policy"
        label="What the app may do"
        value={props.value ?? "social"}
        options={props.policies.map((policy) => ({ value: policy.name, label: policy.name }))}
      />
      <details>
        <summary>What each choice allows</summary>
        <dl>
          {props.policies.map((policy) => (
            <>
              <dt>
                <strong>{policy.name}</strong>
              </dt>
              <dd>{describePolicy(policy.rules).join(" ")}</dd>
            </>
          ))}
        </dl>
      </details>
    </div>
  );
}

function ConnectForms(props: AccountProps & { errors: Errors }): JSX.Element {
  const { errors } = props;
  return (
    <>
      <section class="panel">
        <h3>With a connection link</h3>
        <p class="muted">
          keycast makes a <code>bunker://</code> link; paste it into the app. It works for one app.
        </p>
        <form class="stack" method="post" action="/account/apps/bunker">
          <CsrfField token={props.csrf} />
          <Field
            name="app_name"
            label="App name"
            hint="So you recognise it later."
            value={props.values?.app_name}
            error={errors.app_name}
            required
            maxlength={100}
          />
          <KeySelect keys={props.keys} value={props.values?.key} />
          <PolicySelect policies={props.policies} value={props.values?.policy} />
          <div class="actions">
            <button type="submit">Create connection link</button>
          </div>
        </form>
      </section>
      <section class="panel">
        <h3>With the app's nostrconnect link</h3>
        <form class="stack" method="post" action="/account/apps/nostrconnect">
          <CsrfField token={props.csrf} />
          <input type="hidden" name="step" value="review" />
          <Field
            name="uri"
            label="nostrconnect:// link"
            hint="Copy it from the app's “connect with a bunker” screen."
            error={errors.uri}
            required
            multiline
            maxlength={4096}
            mono
          />
          <div class="actions">
            <button type="submit">Review the app</button>
          </div>
        </form>
      </section>
    </>
  );
}

function AppsTable(props: { apps: OwnApp[] }): JSX.Element {
  return (
    <table class="cards">
      <thead>
        <tr>
          <th>App</th>
          <th>Key</th>
          <th>Policy</th>
          <th>Connected</th>
          <th>Last activity</th>
          <th>Requests</th>
          <th>
            <span class="visually-hidden">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {props.apps.map((app) => (
          <tr>
            <td data-label="App">
              <strong>{appName(app)}</strong>
            </td>
            <td data-label="Key">{app.record.keyName}</td>
            <td data-label="Policy">{app.record.policyName ?? "full"}</td>
            <td data-label="Connected">{when(app.record.createdAt)}</td>
            <td data-label="Last activity">{when(app.lastActivityAt)}</td>
            <td data-label="Requests">{app.requests}</td>
            <td>
              <span class="actions">
                <a href={`/account/apps/${app.record.id}`}>Activity</a>
                <a class="button danger" href={`/account/apps/${app.record.id}/revoke`}>Revoke</a>
              </span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Audit rows as a person reads them. */
export function ActivityTable(
  props: { rows: AuditRecord[]; names?: Map<string, string> },
): JSX.Element {
  return (
    <table class="cards">
      <thead>
        <tr>
          <th>When</th>
          {props.names && <th>App</th>}
          <th>Asked for</th>
          <th>Answer</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row) => (
          <tr>
            <td data-label="When">{when(row.at)}</td>
            {props.names && (
              <td data-label="App">{props.names.get(row.authorizationId ?? "") ?? "—"}</td>
            )}
            <td data-label="Asked for">{describeRequest(row)}</td>
            <td data-label="Answer">
              <span class={row.decision}>{row.decision === "allow" ? "Allowed" : "Refused"}</span>
              {row.reason && <small>— {row.reason}</small>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const METHOD_WORDS: Record<string, string> = {
  connect: "Connect",
  sign_event: "Sign",
  get_public_key: "Read your public key",
  nip04_encrypt: "Encrypt (NIP-04)",
  nip04_decrypt: "Decrypt (NIP-04)",
  nip44_encrypt: "Encrypt (NIP-44)",
  nip44_decrypt: "Decrypt (NIP-44)",
  ping: "Ping",
  logout: "Log out",
  switch_relays: "Switch relays",
  get_relays: "Read relays",
};

function describeRequest(row: AuditRecord): string {
  const method = METHOD_WORDS[row.method] ?? row.method;
  return row.eventKind === null ? method : `${method} ${kindLabel(row.eventKind).toLowerCase()}`;
}

/** The page showing a new connection link, once. */
export function BunkerCreatedPage(
  props: {
    viewer: Viewer;
    csrf: string;
    appName: string;
    bunkerUrl: string;
    policy: PolicyChoice;
  },
): JSX.Element {
  return (
    <Layout title="Connection link" viewer={props.viewer} csrf={props.csrf}>
      <h1>Connect {props.appName}</h1>
      <ShownOnce
        id="bunker-url"
        label="Connection link"
        value={props.bunkerUrl}
        warning="This link lets an app sign as you. It is shown only now: paste it into the app, or scan the code, then leave this page."
      />
      <QrSvg text={props.bunkerUrl} label="QR code of the connection link" />
      <h2>What {props.appName} may do (policy “{props.policy.name}”)</h2>
      <ul>{describePolicy(props.policy.rules).map((line) => <li key={line}>{line}</li>)}</ul>
      <p>
        <a href="/account#apps">Done</a>
      </p>
    </Layout>
  );
}

/** The review step of a nostrconnect link: who the app says it is, and what it may do. */
export function ReviewAppPage(props: {
  viewer: Viewer;
  csrf: string;
  uri: string;
  request: NostrConnectRequest;
  keys: KeyRecord[];
  policies: PolicyChoice[];
  errors?: Errors;
}): JSX.Element {
  const { request } = props;
  return (
    <Layout title="Approve an app" viewer={props.viewer} csrf={props.csrf}>
      <h1>Approve this app?</h1>
      {props.errors?.form && <p class="alert" role="alert">{props.errors.form}</p>}
      <dl class="facts">
        <dt>App key</dt>
        <dd>
          <code class="mono">{shorten(request.clientPubkey, 16, 8)}</code>
        </dd>
        {request.metadata.url && (
          <>
            <dt>Says its site is</dt>
            <dd class="mono">{request.metadata.url}</dd>
          </>
        )}
        <dt>Says its name is</dt>
        <dd>
          {request.metadata.name ?? "nothing"} <small>(unverified)</small>
        </dd>
        <dt>Relays</dt>
        <dd class="mono">{request.relays.join(", ")}</dd>
        {request.perms.length > 0 && (
          <>
            <dt>Asks for</dt>
            <dd class="mono">{request.perms.join(", ")}</dd>
          </>
        )}
      </dl>
      <form class="stack" method="post" action="/account/apps/nostrconnect">
        <CsrfField token={props.csrf} />
        <input type="hidden" name="step" value="approve" />
        <input type="hidden" name="uri" value={props.uri} />
        <Field name="label" label="Call it" value={request.metadata.name} maxlength={100} />
        <KeySelect keys={props.keys} />
        <PolicySelect policies={props.policies} />
        <div class="actions">
          <button type="submit">Approve</button>
          <a class="button secondary" href="/account">Deny</a>
        </div>
      </form>
    </Layout>
  );
}

/** One app's activity. */
export function AppActivityPage(
  props: { viewer: Viewer; csrf: string; app: OwnApp; rows: AuditRecord[] },
): JSX.Element {
  return (
    <Layout title={`Activity of ${appName(props.app)}`} viewer={props.viewer} csrf={props.csrf}>
      <h1>{appName(props.app)}</h1>
      <dl class="facts">
        <dt>Key</dt>
        <dd>{props.app.record.keyName}</dd>
        <dt>Policy</dt>
        <dd>{props.app.record.policyName ?? "full"}</dd>
        <dt>Connected</dt>
        <dd>{when(props.app.record.createdAt)}</dd>
        <dt>Requests</dt>
        <dd>{props.app.requests}</dd>
      </dl>
      {props.rows.length === 0
        ? <p>This app has asked for nothing yet.</p>
        : <ActivityTable rows={props.rows} />}
      <p class="actions">
        <a href="/account#apps">Back</a>
        <a class="button danger" href={`/account/apps/${props.app.record.id}/revoke`}>Revoke</a>
      </p>
    </Layout>
  );
}

/** The confirmation step of revoking an app. */
export function RevokeAppPage(props: { viewer: Viewer; csrf: string; app: OwnApp }): JSX.Element {
  const name = appName(props.app);
  return (
    <Layout title={`Revoke ${name}`} viewer={props.viewer} csrf={props.csrf}>
      <h1>Revoke {name}?</h1>
      <p>
        {name} will no longer be able to sign, encrypt or decrypt with your key “{props.app.record
          .keyName}”. Its next request is refused. To use it again you would connect it anew.
      </p>
      <form method="post" action={`/account/apps/${props.app.record.id}/revoke`} class="actions">
        <CsrfField token={props.csrf} />
        <button type="submit" class="danger">Revoke {name}</button>
        <a href="/account#apps">Keep it</a>
      </form>
    </Layout>
  );
}
