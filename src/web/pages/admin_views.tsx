/**
 * The views of `/admin`: the instance's health, people, invites, keys, apps, OAuth apps
 * (`admin_oauth.tsx`), policies and audit.
 */
import type { JSX } from "hono/jsx/jsx-runtime";
import type { ListedAccount } from "../../db/repos/accounts.ts";
import type { AuditRecord } from "../../db/repos/audit.ts";
import type { AuthorizationRecord } from "../../db/repos/authorizations.ts";
import type { InviteRecord } from "../../db/repos/invites.ts";
import type { KeyRecord } from "../../db/repos/keys.ts";
import type { OAuthClientRecord } from "../../db/repos/oauth.ts";
import type { SignerStatus } from "../../http/types.ts";
import { kindLabel } from "../../nostr/kinds.ts";
import type { OAuthMode } from "../../service/deps.ts";
import { CsrfField, Layout, Npub, Select, shorten, type Viewer, when } from "../layout.tsx";
import { type OAuthAppsProps, OAuthAppsSection } from "./admin_oauth.tsx";

/** Everything the admin page shows. */
export interface AdminProps {
  viewer: Viewer;
  /** The admin's own account id (they cannot disable themselves here). */
  viewerId: string;
  csrf: string;
  version: string;
  databaseOk: boolean;
  signer: SignerStatus;
  accounts: ListedAccount[];
  invites: InviteRecord[];
  keys: KeyRecord[];
  authorizations: AuthorizationRecord[];
  policies: { name: string; builtin: boolean }[];
  /** The registered OAuth clients, by client id. */
  oauthClients: OAuthClientRecord[];
  /** Which apps may use OAuth (`serve --oauth`). */
  oauthMode: OAuthMode;
  /** A refused OAuth app registration: its problems and input, shown again. */
  oauthForm?: Pick<OAuthAppsProps, "errors" | "values">;
  audit: AuditRecord[];
  /** The audit filter in use. */
  filter: { authorization?: string; decision?: string };
  notice?: string;
  /** A new invite's code, shown once. */
  inviteCode?: string;
}

/** `/admin`. */
export function AdminPage(props: AdminProps): JSX.Element {
  const owners = new Map(props.accounts.map((account) => [account.id, account.username]));
  const labels = new Map(
    props.authorizations.map((record) => [record.id, record.label ?? shorten(record.bunkerPubkey)]),
  );
  return (
    <Layout title="Admin" viewer={props.viewer} csrf={props.csrf} wide>
      <h1>Admin</h1>
      {props.notice && <p class="notice" role="status">{props.notice}</p>}
      <nav aria-label="Sections" class="actions">
        <a href="#health">Health</a>
        <a href="#accounts">Accounts</a>
        <a href="#invites">Invites</a>
        <a href="#keys">Keys</a>
        <a href="#apps">Apps</a>
        <a href="#oauth">OAuth apps</a>
        <a href="#policies">Policies</a>
        <a href="#audit">Audit</a>
      </nav>

      <h2 id="health">Health</h2>
      <dl class="facts">
        <dt>Version</dt>
        <dd>{props.version}</dd>
        <dt>Database</dt>
        <dd class={props.databaseOk ? "allow" : "deny"}>
          {props.databaseOk ? "answering" : "not answering"}
        </dd>
        <dt>Listener</dt>
        <dd>
          {props.signer.ready ? "ready" : "starting"}, {props.signer.loadedAuthorizations}{" "}
          authorizations loaded
        </dd>
        <dt>Signing workers</dt>
        <dd>{props.signer.workers} ({props.signer.queueDepth} jobs waiting)</dd>
        <dt>Relays</dt>
        <dd>
          {props.signer.relays.length === 0
            ? "none"
            : props.signer.relays.map((relay) => (
              <div class="mono">
                {relay.url} —{" "}
                <span class={relay.connected ? "allow" : "deny"}>
                  {relay.connected ? "connected" : "disconnected"}
                </span>
              </div>
            ))}
        </dd>
      </dl>

      <h2 id="accounts">Accounts</h2>
      <table class="cards">
        <thead>
          <tr>
            <th>Username</th>
            <th>Role</th>
            <th>Keys</th>
            <th>Created</th>
            <th>State</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          {props.accounts.map((account) => (
            <tr>
              <td data-label="Username">
                <strong>{account.username}</strong>
                {account.email && <div class="muted">{account.email}</div>}
              </td>
              <td data-label="Role">{account.role}</td>
              <td data-label="Keys">{account.keyCount}</td>
              <td data-label="Created">{when(account.createdAt)}</td>
              <td data-label="State">
                {account.disabledAt ? <span class="deny">disabled</span> : "active"}
              </td>
              <td>
                {account.id === props.viewerId
                  ? <small>you</small>
                  : account.disabledAt
                  ? (
                    <form method="post" action={`/admin/accounts/${account.id}/enable`}>
                      <CsrfField token={props.csrf} />
                      <button type="submit" class="secondary">Enable</button>
                    </form>
                  )
                  : (
                    <a class="button danger" href={`/admin/accounts/${account.id}/disable`}>
                      Disable
                    </a>
                  )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2 id="invites">Invites</h2>
      {props.inviteCode && (
        <section class="panel">
          <p class="alert">
            This invite code is shown only now. Give it to the person; it works once.
          </p>
          <label for="invite-code">Invite code</label>
          <input id="invite-code" class="mono" readonly value={props.inviteCode} />
          <div class="actions">
            <button type="button" data-copy="invite-code" hidden>Copy</button>
          </div>
        </section>
      )}
      <form class="actions" method="post" action="/admin/invites">
        <CsrfField token={props.csrf} />
        <Select
          name="role"
          label="Role"
          options={[{ value: "user", label: "user" }, { value: "admin", label: "admin" }]}
        />
        <Select
          name="expires_in"
          label="Valid for"
          value="7d"
          options={[{ value: "1d", label: "1 day" }, { value: "7d", label: "7 days" }, {
            value: "30d",
            label: "30 days",
          }]}
        />
        <button type="submit">Create invite</button>
      </form>
      {props.invites.length > 0 && (
        <table class="cards">
          <thead>
            <tr>
              <th>Role</th>
              <th>Created</th>
              <th>Expires</th>
              <th>Used</th>
            </tr>
          </thead>
          <tbody>
            {props.invites.map((invite) => (
              <tr>
                <td data-label="Role">{invite.role}</td>
                <td data-label="Created">{when(invite.createdAt)}</td>
                <td data-label="Expires">{when(invite.expiresAt)}</td>
                <td data-label="Used">
                  {invite.usedAt
                    ? `${when(invite.usedAt)} by ${invite.usedByUsername ?? "?"}`
                    : "not yet"}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}

      <h2 id="keys">Keys</h2>
      <table class="cards">
        <thead>
          <tr>
            <th>Name</th>
            <th>Owner</th>
            <th>npub</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          {props.keys.map((key, i) => (
            <tr>
              <td data-label="Name">{key.name}</td>
              <td data-label="Owner">
                {key.accountId ? owners.get(key.accountId) ?? "?" : "operator"}
              </td>
              <td data-label="npub">
                <Npub pubkey={key.pubkey} id={`admin-npub-${i}`} />
              </td>
              <td data-label="Created">{when(key.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>

      <h2 id="apps">Apps (authorizations)</h2>
      <table class="cards">
        <thead>
          <tr>
            <th>App</th>
            <th>Key</th>
            <th>Policy</th>
            <th>Clients</th>
            <th>Created</th>
            <th>State</th>
          </tr>
        </thead>
        <tbody>
          {props.authorizations.map((record) => (
            <tr>
              <td data-label="App">
                {record.label ?? <code class="mono">{shorten(record.bunkerPubkey)}</code>}
              </td>
              <td data-label="Key">{record.keyName}</td>
              <td data-label="Policy">{record.policyName ?? "full"}</td>
              <td data-label="Clients">{record.clientCount}</td>
              <td data-label="Created">{when(record.createdAt)}</td>
              <td data-label="State">
                {record.revokedAt
                  ? <span class="deny">revoked</span>
                  : record.expiresAt && record.expiresAt.getTime() < Date.now()
                  ? "expired"
                  : "active"}
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <OAuthAppsSection
        csrf={props.csrf}
        clients={props.oauthClients}
        policies={props.policies}
        mode={props.oauthMode}
        {...props.oauthForm}
      />

      <h2 id="policies">Policies</h2>
      <ul>
        {props.policies.map((policy) => (
          <li>
            <code>{policy.name}</code>
            {policy.builtin && <small class="tag">built in</small>}
          </li>
        ))}
      </ul>

      <h2 id="audit">Audit</h2>
      <form class="actions" method="get" action="/admin#audit">
        <Select
          name="authorization"
          label="App"
          value={props.filter.authorization ?? ""}
          options={[
            { value: "", label: "all apps" },
            ...props.authorizations.map((record) => ({
              value: record.id,
              label: labels.get(record.id)!,
            })),
          ]}
        />
        <Select
          name="decision"
          label="Answer"
          value={props.filter.decision ?? ""}
          options={[{ value: "", label: "all" }, { value: "allow", label: "allowed" }, {
            value: "deny",
            label: "refused",
          }]}
        />
        <button type="submit" class="secondary">Filter</button>
      </form>
      <table class="cards">
        <thead>
          <tr>
            <th>When</th>
            <th>App</th>
            <th>Method</th>
            <th>Kind</th>
            <th>Answer</th>
          </tr>
        </thead>
        <tbody>
          {props.audit.map((row) => (
            <tr>
              <td data-label="When">{when(row.at)}</td>
              <td data-label="App">{labels.get(row.authorizationId ?? "") ?? "—"}</td>
              <td data-label="Method">
                <code>{row.method}</code>
              </td>
              <td data-label="Kind">{row.eventKind === null ? "—" : kindLabel(row.eventKind)}</td>
              <td data-label="Answer">
                <span class={row.decision}>{row.decision}</span>
                {row.reason && <small>— {row.reason}</small>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.audit.length === 0 && <p>No requests match.</p>}
    </Layout>
  );
}

/** The confirmation step of disabling an account. */
export function DisableAccountPage(
  props: { viewer: Viewer; csrf: string; account: { id: string; username: string } },
): JSX.Element {
  return (
    <Layout title={`Disable ${props.account.username}`} viewer={props.viewer} csrf={props.csrf}>
      <h1>Disable {props.account.username}?</h1>
      <p>
        {props.account.username}{" "}
        is logged out everywhere and cannot log in, and every app connected to their keys is refused
        until the account is enabled again.
      </p>
      <form method="post" action={`/admin/accounts/${props.account.id}/disable`} class="actions">
        <CsrfField token={props.csrf} />
        <button type="submit" class="danger">Disable {props.account.username}</button>
        <a href="/admin#accounts">Keep it active</a>
      </form>
    </Layout>
  );
}
