/**
 * The frame of every page and the small pieces the pages share: form fields with their errors,
 * the CSRF field, shortened npubs with a copy button. Hono's JSX escapes every text and attribute,
 * so page content is safe by construction; the only raw markup is the QR code's SVG, which
 * `qr.ts` builds from numbers alone.
 */
import type { Child } from "hono/jsx";
import type { JSX } from "hono/jsx/jsx-runtime";
import { npubEncode } from "nostr-tools/nip19";
import { SCRIPT_ASSET, STYLESHEET_ASSET } from "./assets.ts";

/** Who is looking at the page, for the navigation. */
export interface Viewer {
  username: string;
  role: "user" | "admin";
}

/** What every page passes to {@link Layout}. */
export interface PageProps {
  title: string;
  /** The logged-in person, if any. */
  viewer?: Viewer;
  /** The CSRF token for the logout form in the navigation (logged-in pages). */
  csrf?: string;
  /** Full-width main column (admin tables). */
  wide?: boolean;
  children?: Child;
}

/** The HTML document around a page. */
export function Layout(props: PageProps): JSX.Element {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <link rel="icon" href="data:," />
        <title>{`${props.title} · keycast`}</title>
        <link rel="stylesheet" href={STYLESHEET_ASSET.path} />
        <script src={SCRIPT_ASSET.path} defer></script>
      </head>
      <body>
        <header class="top">
          <div class="bar">
            <a class="brand" href="/">keycast</a>
            <Nav viewer={props.viewer} csrf={props.csrf} />
          </div>
        </header>
        <main class={props.wide ? "wide" : undefined}>{props.children}</main>
        <footer>keycast keeps your Nostr keys on this server; apps sign through it.</footer>
      </body>
    </html>
  );
}

function Nav(props: { viewer?: Viewer; csrf?: string }): JSX.Element {
  if (!props.viewer) {
    return (
      <nav aria-label="Main">
        <a href="/login">Log in</a>
        <a href="/register">Register</a>
      </nav>
    );
  }
  return (
    <nav aria-label="Main">
      <a href="/account">Account</a>
      <a href="/account/security">Security</a>
      {props.viewer.role === "admin" && <a href="/admin">Admin</a>}
      <form method="post" action="/logout">
        <CsrfField token={props.csrf ?? ""} />
        <button type="submit" class="link">Log out {props.viewer.username}</button>
      </form>
    </nav>
  );
}

/** The hidden CSRF field every POST form carries. */
export function CsrfField(props: { token: string }): JSX.Element {
  return <input type="hidden" name="csrf" value={props.token} />;
}

/** What a text field needs. */
export interface FieldProps {
  name: string;
  label: string;
  type?: string;
  value?: string;
  hint?: string;
  error?: string;
  autocomplete?: string;
  required?: boolean;
  minlength?: number;
  maxlength?: number;
  multiline?: boolean;
  mono?: boolean;
}

/** A labelled input with its hint and, when set, its error right below it. */
export function Field(props: FieldProps): JSX.Element {
  const id = `f-${props.name}`;
  const described = [props.hint && `${id}-hint`, props.error && `${id}-error`]
    .filter(Boolean).join(" ") || undefined;
  const common = {
    id,
    name: props.name,
    required: props.required,
    autocomplete: props.autocomplete,
    "aria-invalid": props.error ? "true" : undefined,
    "aria-describedby": described,
    class: props.mono ? "mono" : undefined,
    spellcheck: props.mono ? false : undefined,
  };
  return (
    <div>
      <label for={id}>
        {props.label}
        {props.hint && <span class="hint" id={`${id}-hint`}>{props.hint}</span>}
      </label>
      {props.multiline
        ? <textarea {...common} maxlength={props.maxlength}>{props.value ?? ""}</textarea>
        : (
          <input
            {...common}
            type={props.type ?? "text"}
            value={props.value}
            minlength={props.minlength}
            maxlength={props.maxlength}
          />
        )}
      {props.error && <p class="error" id={`${id}-error`}>{props.error}</p>}
    </div>
  );
}

/** A choice among options, labelled. */
export function Select(props: {
  name: string;
  label: string;
  options: { value: string; label: string }[];
  value?: string;
  hint?: string;
  error?: string;
}): JSX.Element {
  const id = `f-${props.name}`;
  return (
    <div>
      <label for={id}>
        {props.label}
        {props.hint && <span class="hint">{props.hint}</span>}
      </label>
      <select id={id} name={props.name} aria-invalid={props.error ? "true" : undefined}>
        {props.options.map((option) => (
          <option value={option.value} selected={option.value === props.value}>
            {option.label}
          </option>
        ))}
      </select>
      {props.error && <p class="error">{props.error}</p>}
    </div>
  );
}

/** `npub1abcd…wxyz`, the full value in its title and one click away. */
export function Npub(props: { pubkey: string; id: string }): JSX.Element {
  const npub = npubEncode(props.pubkey);
  return (
    <span>
      <code class="mono" title={npub}>{shorten(npub)}</code>{" "}
      <span id={props.id} hidden>{npub}</span>
      <button type="button" class="secondary" data-copy={props.id} hidden>Copy npub</button>
    </span>
  );
}

/** A long identifier shortened in the middle. */
export function shorten(value: string, head = 12, tail = 6): string {
  return value.length <= head + tail + 1 ? value : `${value.slice(0, head)}…${value.slice(-tail)}`;
}

/** A date as people read it, in UTC (the server does not know the reader's zone). */
export function when(value: Date | null | undefined): string {
  if (!value) return "never";
  return `${value.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

/** A secret shown once, with its warning and a copy button. */
export function ShownOnce(
  props: { id: string; label: string; value: string; warning: string },
): JSX.Element {
  return (
    <section class="panel">
      <p class="alert">{props.warning}</p>
      <label for={props.id}>{props.label}</label>
      <textarea id={props.id} class="secret" readonly spellcheck={false}>{props.value}</textarea>
      <div class="actions">
        <button type="button" data-copy={props.id} hidden>Copy</button>
      </div>
    </section>
  );
}
