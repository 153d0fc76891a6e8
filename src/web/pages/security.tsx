/**
 * `/account/security`: change the password (which ends every other session), see where the
 * account is logged in and log out everywhere else, and export a key as a password-protected
 * ncryptsec, shown once in answer to the POST that asked for it.
 */
import { serviceStatus } from "../../http/errors.ts";
import type { JSX } from "hono/jsx/jsx-runtime";
import type { Context } from "hono";
import { Hono } from "hono";
import type { SessionRecord } from "../../db/repos/sessions.ts";
import type { KeyRecord } from "../../db/repos/keys.ts";
import { clientInfo } from "../../http/session.ts";
import type { AppEnv } from "../../http/types.ts";
import { changePassword, endOtherSessions, listSessions } from "../../service/accounts.ts";
import { exportOwnKey, ownKeys } from "../../service/own.ts";
import {
  accountIdOf,
  attempt,
  csrfToken,
  formErrors,
  page,
  readForm,
  requireLogin,
  viewerOf,
} from "../context.ts";
import { CsrfField, Field, Layout, Select, ShownOnce, type Viewer, when } from "../layout.tsx";

type Errors = Record<string, string | undefined>;

const NOTICES: Record<string, string> = {
  password: "Password changed. Every other session was logged out.",
  sessions: "Every other session was logged out.",
};

/** The security routes, mounted at `/account/security`. */
export function securityPages(): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .use("*", requireLogin())
    .get("/", async (c) => {
      const notice = NOTICES[c.req.query("done") ?? ""];
      return page(c, SecurityPage(await securityProps(c, { notice })));
    })
    .post("/password", async (c) => {
      const form = readForm(c);
      const session = c.var.session!;
      const result = await attempt(() =>
        changePassword(
          c.var.services,
          accountIdOf(c),
          {
            current: form.raw("current_password"),
            next: form.raw("new_password"),
          },
          session.token,
          clientInfo(c),
        )
      );
      if (result.ok) return c.redirect("/account/security?done=password", 303);
      const errors = formErrors(result.error, ["current_password", "new_password"]);
      return page(c, SecurityPage(await securityProps(c, { errors })), serviceStatus(result.error));
    })
    .post("/sessions/end", async (c) => {
      readForm(c);
      await endOtherSessions(c.var.services, accountIdOf(c), c.var.session!.token);
      return c.redirect("/account/security?done=sessions", 303);
    })
    .post("/export", async (c) => {
      const form = readForm(c);
      const result = await attempt(() =>
        exportOwnKey(c.var.services, accountIdOf(c), {
          key: form.text("key"),
          password: form.raw("export_current_password"),
          exportPassword: form.raw("export_password") || null,
        }, clientInfo(c))
      );
      if (!result.ok) {
        if (result.error.retryAfterSeconds !== undefined) {
          c.header("Retry-After", String(result.error.retryAfterSeconds));
        }
        const errors = formErrors(
          result.error,
          ["key", "export_current_password", "export_password"],
          { current_password: "export_current_password", password: "export_current_password" },
        );
        return page(
          c,
          SecurityPage(await securityProps(c, { errors })),
          serviceStatus(result.error),
        );
      }
      const { key, ncryptsec } = result.value;
      return page(
        c,
        <Layout title="Exported key" viewer={viewerOf(c)} csrf={csrfToken(c)}>
          <h1>Your key “{key.name}”, encrypted</h1>
          <ShownOnce
            id="ncryptsec"
            label="ncryptsec (NIP-49)"
            value={ncryptsec}
            warning="Anyone with this text and its password can sign as you. It is shown only now: store it somewhere safe, then leave this page."
          />
          <p>
            <a href="/account/security">Done</a>
          </p>
        </Layout>,
      );
    });
}

interface SecurityProps {
  viewer: Viewer;
  csrf: string;
  sessions: SessionRecord[];
  currentHash: string;
  keys: KeyRecord[];
  notice?: string;
  errors?: Errors;
}

async function securityProps(
  c: Context<AppEnv>,
  extra: { notice?: string; errors?: Errors },
): Promise<SecurityProps> {
  const accountId = accountIdOf(c);
  return {
    viewer: viewerOf(c)!,
    csrf: csrfToken(c),
    sessions: await listSessions(c.var.services, accountId),
    currentHash: c.var.session!.live.session.idHash,
    keys: await ownKeys(c.var.services, accountId),
    ...extra,
  };
}

function SecurityPage(props: SecurityProps): JSX.Element {
  const errors = props.errors ?? {};
  return (
    <Layout title="Security" viewer={props.viewer} csrf={props.csrf}>
      <h1>Security</h1>
      {props.notice && <p class="notice" role="status">{props.notice}</p>}
      {errors.form && <p class="alert" role="alert">{errors.form}</p>}

      <h2>Change your password</h2>
      <form class="stack" method="post" action="/account/security/password">
        <CsrfField token={props.csrf} />
        <Field
          name="current_password"
          label="Current password"
          type="password"
          autocomplete="current-password"
          error={errors.current_password}
          required
          maxlength={1024}
        />
        <Field
          name="new_password"
          label="New password"
          hint="At least 12 characters. Every other session is logged out."
          type="password"
          autocomplete="new-password"
          error={errors.new_password}
          required
          minlength={12}
          maxlength={1024}
        />
        <div class="actions">
          <button type="submit">Change password</button>
        </div>
      </form>

      <h2>Where you are logged in</h2>
      <table class="cards">
        <thead>
          <tr>
            <th>Browser</th>
            <th>Logged in</th>
            <th>Last used</th>
            <th>Ends</th>
          </tr>
        </thead>
        <tbody>
          {props.sessions.map((session) => (
            <tr>
              <td data-label="Browser">
                {session.userAgent ?? "Unknown browser"}
                {session.idHash === props.currentHash && <strong>(this browser)</strong>}
              </td>
              <td data-label="Logged in">{when(session.createdAt)}</td>
              <td data-label="Last used">{when(session.lastSeenAt)}</td>
              <td data-label="Ends">{when(session.expiresAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <form method="post" action="/account/security/sessions/end">
        <CsrfField token={props.csrf} />
        <button type="submit" class="danger">Log out everywhere else</button>
      </form>

      <h2>Export a key</h2>
      <p>
        Your key leaves keycast only encrypted with a password, as an <code>ncryptsec</code>{" "}
        (NIP-49) that Nostr apps and signers can import. At most 3 exports an hour.
      </p>
      <form class="stack" method="post" action="/account/security/export">
        <CsrfField token={props.csrf} />
        <Select
          name="key"
          label="Key"
          options={props.keys.map((key) => ({ value: key.pubkey, label: key.name }))}
          error={errors.key}
        />
        <Field
          name="export_current_password"
          label="Your password, again"
          type="password"
          autocomplete="current-password"
          error={errors.export_current_password}
          required
          maxlength={1024}
        />
        <Field
          name="export_password"
          label="Password for the export (optional)"
          hint="8 characters or more; your account password is used when empty."
          type="password"
          autocomplete="new-password"
          error={errors.export_password}
          maxlength={1024}
        />
        <div class="actions">
          <button type="submit">Export</button>
        </div>
      </form>
    </Layout>
  );
}
