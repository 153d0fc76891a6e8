/**
 * The pages anyone reaches: `/` (what this is), `/login`, `/register` and `POST /logout`. A
 * successful login or registration sets the session cookie and moves on to `/account` with a
 * 303, so no password stays in the browser's history; a failed one shows the form again with the
 * error by its field and the input kept, never the password.
 */
import { serviceStatus } from "../../http/errors.ts";
import type { JSX } from "hono/jsx/jsx-runtime";
import type { Context } from "hono";
import { Hono } from "hono";
import { clearSessionCookie, clientInfo, setSessionCookie } from "../../http/session.ts";
import type { AppEnv } from "../../http/types.ts";
import { login, logout, register } from "../../service/accounts.ts";
import type { RegistrationMode } from "../../service/deps.ts";
import { attempt, csrfToken, formErrors, page, readForm, viewerOf } from "../context.ts";
import { CsrfField, Field, Layout } from "../layout.tsx";

type Errors = Record<string, string | undefined>;

/** The public routes, mounted at `/`. */
export function publicPages(): Hono<AppEnv> {
  return new Hono<AppEnv>()
    .get("/", (c) => page(c, <HomePage c={c} />))
    .get("/login", (c) => {
      const next = safeNext(c.req.query("next"));
      if (c.var.session && !next) return c.redirect("/account", 303);
      return page(c, <LoginPage csrf={csrfToken(c)} next={next} />);
    })
    .post("/login", async (c) => {
      const form = readForm(c);
      const username = form.text("username");
      const next = safeNext(form.text("next"));
      const result = await attempt(() =>
        login(c.var.services, { login: username, password: form.raw("password") }, clientInfo(c))
      );
      if (!result.ok) {
        if (result.error.retryAfterSeconds !== undefined) {
          c.header("Retry-After", String(result.error.retryAfterSeconds));
        }
        const errors = formErrors(result.error, ["password"]);
        return page(
          c,
          <LoginPage csrf={csrfToken(c)} username={username} errors={errors} next={next} />,
          serviceStatus(result.error),
        );
      }
      const { session } = result.value;
      setSessionCookie(c, session.token, session.expiresAt);
      return c.redirect(next ?? "/account", 303);
    })
    .get("/register", (c) => {
      const next = safeNext(c.req.query("next"));
      if (c.var.session) return c.redirect(next ?? "/account", 303);
      return page(c, <RegisterPage csrf={csrfToken(c)} mode={registrationMode(c)} next={next} />);
    })
    .post("/register", async (c) => {
      const form = readForm(c);
      const next = safeNext(form.text("next"));
      const values = {
        username: form.text("username"),
        email: form.text("email"),
        invite: form.text("invite"),
      };
      const bring = form.text("key_source") === "bring";
      const result = await attempt(() =>
        register(c.var.services, {
          username: values.username,
          email: values.email || null,
          password: form.raw("password"),
          invite: values.invite || null,
          secret: bring ? form.raw("nsec") : null,
          secretPassword: bring ? form.raw("nsec_password") || null : null,
        }, clientInfo(c))
      );
      if (!result.ok) {
        const errors = formErrors(
          result.error,
          ["username", "email", "password", "invite", "nsec", "nsec_password"],
          { secret: "nsec" },
        );
        return page(
          c,
          <RegisterPage
            csrf={csrfToken(c)}
            mode={registrationMode(c)}
            values={values}
            errors={errors}
            next={next}
          />,
          serviceStatus(result.error),
        );
      }
      const { session } = result.value;
      setSessionCookie(c, session.token, session.expiresAt);
      return c.redirect(next ?? "/account", 303);
    })
    .post("/logout", async (c) => {
      readForm(c);
      const session = c.var.session;
      if (session) await logout(c.var.services, session.token);
      clearSessionCookie(c);
      return c.redirect("/", 303);
    });
}

/**
 * Where to go after logging in: only back to an OAuth consent page (a path on this server, never
 * another site), else nowhere special.
 */
export function safeNext(next: string | undefined): string | undefined {
  if (!next || next.length > 4_000) return undefined;
  return next.startsWith("/api/oauth/authorize?") && !/[\\\s]/.test(next) ? next : undefined;
}

function registrationMode(c: Context<AppEnv>): RegistrationMode {
  return c.var.services.accounts?.settings.registration ?? "closed";
}

function HomePage(props: { c: Context<AppEnv> }): JSX.Element {
  const viewer = viewerOf(props.c);
  const mode = registrationMode(props.c);
  return (
    <Layout title="Your Nostr keys, kept safe" viewer={viewer} csrf={viewer && csrfToken(props.c)}>
      <h1>Your Nostr keys, kept safe</h1>
      <p class="lead">
        keycast keeps your Nostr secret key on this server and lets the apps you connect sign with
        it, without ever seeing it. You decide what each app may do, see what it did, and cut it off
        at any time.
      </p>
      <ul>
        <li>
          Connect apps with a <code>bunker://</code> link or by pasting their{" "}
          <code>nostrconnect://</code> link (NIP-46).
        </li>
        <li>Each app gets a policy: which kinds of events it may sign, and how often.</li>
        <li>
          Your key is stored encrypted; you can export it, protected by a password, whenever you
          like.
        </li>
      </ul>
      {viewer
        ? (
          <p>
            <a class="button" href="/account">Go to your account</a>
          </p>
        )
        : (
          <p class="actions">
            <a class="button" href="/login">Log in</a>
            {mode !== "closed" && <a class="button secondary" href="/register">Register</a>}
          </p>
        )}
      {!viewer && mode === "invite" && (
        <p class="muted">Registration on this server needs an invite code from its operator.</p>
      )}
    </Layout>
  );
}

function LoginPage(
  props: { csrf: string; username?: string; errors?: Errors; next?: string },
): JSX.Element {
  const errors = props.errors ?? {};
  return (
    <Layout title="Log in">
      <h1>Log in</h1>
      {errors.form && <p class="alert" role="alert">{errors.form}</p>}
      <form class="stack" method="post" action="/login">
        <CsrfField token={props.csrf} />
        {props.next && <input type="hidden" name="next" value={props.next} />}
        <Field
          name="username"
          label="Username or email"
          value={props.username}
          autocomplete="username"
          required
          maxlength={254}
        />
        <Field
          name="password"
          label="Password"
          type="password"
          autocomplete="current-password"
          error={errors.password}
          required
          maxlength={1024}
        />
        <div class="actions">
          <button type="submit">Log in</button>
          <a
            href={props.next
              ? `/register?${new URLSearchParams({ next: props.next })}`
              : "/register"}
          >
            Register instead
          </a>
        </div>
      </form>
    </Layout>
  );
}

function RegisterPage(
  props: {
    csrf: string;
    mode: RegistrationMode;
    values?: { username: string; email: string; invite: string };
    errors?: Errors;
    next?: string;
  },
): JSX.Element {
  const errors = props.errors ?? {};
  const values = props.values;
  if (props.mode === "closed") {
    return (
      <Layout title="Register">
        <h1>Register</h1>
        <p>Registration is closed on this server. Ask its operator for an account.</p>
      </Layout>
    );
  }
  return (
    <Layout title="Register">
      <h1>Create an account</h1>
      {errors.form && <p class="alert" role="alert">{errors.form}</p>}
      <form class="stack" method="post" action="/register">
        <CsrfField token={props.csrf} />
        {props.next && <input type="hidden" name="next" value={props.next} />}
        <Field
          name="username"
          label="Username"
          hint="3 to 32 lowercase letters, digits, dot, dash or underscore."
          value={values?.username}
          error={errors.username}
          autocomplete="username"
          required
          maxlength={32}
        />
        <Field
          name="email"
          label="Email (optional)"
          type="email"
          value={values?.email}
          error={errors.email}
          autocomplete="email"
          maxlength={254}
        />
        <Field
          name="password"
          label="Password"
          type="password"
          hint="At least 12 characters. A few random words make a good one."
          error={errors.password}
          autocomplete="new-password"
          required
          minlength={12}
          maxlength={1024}
        />
        {props.mode === "invite" && (
          <Field
            name="invite"
            label="Invite code"
            value={values?.invite}
            error={errors.invite}
            autocomplete="one-time-code"
            required
            maxlength={200}
            mono
          />
        )}
        <fieldset>
          <legend>Your Nostr key</legend>
          <p class="choice">
            <input type="radio" id="key-new" name="key_source" value="new" checked />{" "}
            <label for="key-new">Make a new key for me</label>
          </p>
          <p class="choice">
            <input type="radio" id="key-bring" name="key_source" value="bring" />{" "}
            <label for="key-bring">Bring my key</label>
          </p>
          <Field
            name="nsec"
            label="Your key (nsec, hex or ncryptsec)"
            hint="Only used when you bring your key. It is encrypted on this server and never shown again."
            type="password"
            error={errors.nsec}
            autocomplete="off"
            maxlength={1000}
            mono
          />
          <Field
            name="nsec_password"
            label="Its password (ncryptsec only)"
            error={errors.nsec_password}
            type="password"
            autocomplete="off"
            maxlength={1024}
          />
        </fieldset>
        <div class="actions">
          <button type="submit">Create account</button>
          <a href="/login">I have an account</a>
        </div>
      </form>
    </Layout>
  );
}
