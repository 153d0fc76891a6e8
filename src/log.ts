/**
 * The one structured logger: `log({level, ns: "nip46.listener", msg, ...fields})`.
 *
 * Output is one line per record, JSON by default (`{"time","level","ns","msg",...fields}`) or
 * `pretty` (`<time> <LEVEL> <ns> <msg> key=value ...`). Records below the configured level are
 * dropped. Logging never throws into the caller.
 *
 * Redaction rules, applied to `msg`, `ns`, every field value and every object key, recursively,
 * before anything is formatted:
 *
 * - Text: `nsec1…` and `ncryptsec1…` bech32 strings; the query of `bunker://…` and
 *   `nostrconnect://…` URLs (the pubkey before `?` stays); any `secret=` query parameter (also
 *   percent-encoded as `secret%3D`); `Bearer <token>`; `Nostr <token>` when the token is at least
 *   20 base64 characters (so prose like "Nostr relay" survives).
 * - Field names: a value whose key looks secret is replaced whole. The key is split into words
 *   (camelCase, `_`, `-`, `.`); it is secret when any word is one of `secret`, `password`,
 *   `passphrase`, `nsec`, `ncryptsec`, `mnemonic`, `credential(s)`, …; or its last word is `token`,
 *   `sk`, `authorization`, `cookie`, `seed`; or its last two words are `master key`, `private key`,
 *   `secret key`, `api key`, …. Booleans and null stay visible (`hasSecret: true`).
 * - Bytes (`Uint8Array` and other binary views) are never printed: `[bytes N]`.
 * - Errors become `{name, message}` (plus `stack` when the logger level is `debug`, and `cause`).
 * - Bounds: depth 6, 50 keys or items per object or array, 8,000 characters per string.
 *
 * Bare 64-hex strings in ordinary fields (pubkeys, event ids) stay visible: they are needed to
 * debug, and a hex secret is only recognised by its field name or a `secret=` parameter.
 */

/** Severity of a record, from least to most severe. */
export type LogLevel = "debug" | "info" | "warn" | "error";
/** Output format: JSON lines, or one human-readable line per record. */
export type LogFormat = "json" | "pretty";
/** One log record: level, dotted namespace, message and any extra fields. */
export interface LogRecord {
  /** Severity. */
  level: LogLevel;
  /** Dotted namespace of the emitting module, e.g. `"relay.pool"`. */
  ns: string;
  /** Sentence-case message without trailing period. */
  msg: string;
  /** Extra structured fields; redacted before output. */
  [field: string]: unknown;
}
/** Emits one record. Never throws. */
export type Log = (record: LogRecord) => void;

const RANKS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };
const REDACTED = "[redacted]";
const MAX_DEPTH = 6;
const MAX_ITEMS = 50;
const MAX_STRING = 8_000;

const TEXT_RULES: [RegExp, string][] = [
  [/ncryptsec1[a-z0-9]{6,}/gi, REDACTED],
  [/nsec1[a-z0-9]{6,}/gi, REDACTED],
  [/\b(bunker|nostrconnect):\/\/([^\s?#"'<>]*)\?[^\s"'<>]*/gi, `$1://$2?${REDACTED}`],
  [/\bsecret(=|%3D)[^&\s"'<>#]*/gi, `secret$1${REDACTED}`],
  [/\bBearer\s+[A-Za-z0-9._~+/=-]+/gi, `Bearer ${REDACTED}`],
  [/\bNostr\s+[A-Za-z0-9+/_-]{20,}=*/gi, `Nostr ${REDACTED}`],
];
const ANY_WORD = new Set([
  "secret",
  "secrets",
  "password",
  "passwd",
  "passphrase",
  "nsec",
  "ncryptsec",
  "mnemonic",
  "credential",
  "credentials",
  "privkey",
  "seckey",
  "masterkey",
  "apikey",
]);
const LAST_WORD = new Set(["token", "sk", "authorization", "cookie", "seed"]);
const LAST_TWO = new Set(["master key", "private key", "priv key", "secret key", "api key"]);

/** Replaces every secret-shaped substring of `text` with `[redacted]` (rules in module doc). */
export function redactText(text: string): string {
  let out = text.length > 2 * MAX_STRING ? text.slice(0, 2 * MAX_STRING) : text;
  for (const [pattern, replacement] of TEXT_RULES) out = out.replace(pattern, replacement);
  return out.length > MAX_STRING ? `${out.slice(0, MAX_STRING)}…[truncated]` : out;
}

/** Whether a field named `key` holds a secret (rules in module doc). */
export function isSecretFieldName(key: string): boolean {
  const words = key.replace(/([a-z0-9])([A-Z])/g, "$1 $2").toLowerCase().split(/[\s_.-]+/)
    .filter((w) => w !== "");
  const last = words.at(-1) ?? "";
  return words.some((w) => ANY_WORD.has(w)) || LAST_WORD.has(last) ||
    LAST_TWO.has(words.slice(-2).join(" "));
}

function sanitize(
  value: unknown,
  withStack: boolean,
  depth: number,
  seen: WeakSet<object>,
): unknown {
  if (typeof value === "string") return redactText(value);
  if (value === null || typeof value === "number" || typeof value === "boolean") return value;
  if (value === undefined) return null;
  if (typeof value === "bigint") return value.toString();
  if (typeof value !== "object") return `[${typeof value}]`;
  if (ArrayBuffer.isView(value)) return `[bytes ${value.byteLength}]`;
  if (value instanceof ArrayBuffer) return `[bytes ${value.byteLength}]`;
  if (value instanceof Date) {
    return Number.isNaN(value.getTime()) ? "Invalid Date" : value.toISOString();
  }
  if (value instanceof URL) return redactText(value.href);
  if (seen.has(value)) return "[circular]";
  if (depth >= MAX_DEPTH) return "[too deep]";
  seen.add(value);
  const next = (v: unknown) => sanitize(v, withStack, depth + 1, seen);
  if (value instanceof Error) {
    const out: Record<string, unknown> = {
      name: redactText(value.name),
      message: redactText(value.message),
    };
    if (withStack && value.stack) out.stack = redactText(value.stack);
    const code = (value as { code?: unknown }).code;
    if (typeof code === "string" || typeof code === "number") out.code = code;
    if (value.cause !== undefined) out.cause = next(value.cause);
    return out;
  }
  if (Array.isArray(value) || value instanceof Set) {
    const items = [...value];
    const out = items.slice(0, MAX_ITEMS).map(next);
    if (items.length > MAX_ITEMS) out.push(`[${items.length - MAX_ITEMS} more]`);
    return out;
  }
  const entries = value instanceof Map || value instanceof Headers
    ? [...value.entries()]
    : Object.entries(value);
  const out: Record<string, unknown> = {};
  for (const [key, item] of entries.slice(0, MAX_ITEMS)) {
    out[redactText(String(key))] = sanitizeField(String(key), item, next);
  }
  if (entries.length > MAX_ITEMS) out["[more]"] = entries.length - MAX_ITEMS;
  return out;
}

function sanitizeField(key: string, value: unknown, next: (v: unknown) => unknown): unknown {
  if (!isSecretFieldName(key)) return next(value);
  return value === null || value === undefined || typeof value === "boolean"
    ? value ?? null
    : REDACTED;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Lowest level written; lower records are dropped. */
  level: LogLevel;
  /** Output format. */
  format: LogFormat;
  /** Receives each formatted line without its newline. Default: synchronous write to stderr. */
  write?: (line: string) => void;
  /** Clock for the `time` field. Default: `() => new Date()`. */
  now?: () => Date;
}

/** Creates a logger that filters by level, redacts secrets and writes one line per record. */
export function createLogger(opts: LoggerOptions): Log {
  const minRank = RANKS[opts.level];
  const withStack = opts.level === "debug";
  const write = opts.write ?? writeStderr;
  const now = opts.now ?? (() => new Date());
  return (record) => {
    if (!(RANKS[record.level] >= minRank)) return;
    let line: string;
    try {
      line = format(record, now(), withStack, opts.format);
    } catch (error: unknown) {
      // A hostile getter or proxy in a field must not break the caller; say so without the fields.
      const reason = error instanceof Error ? error.name : typeof error;
      line = format(
        { level: "error", ns: "log", msg: "Cannot format log record", reason },
        now(),
        false,
        opts.format,
      );
    }
    try {
      write(line);
    } catch (_error: unknown) {
      // The log sink itself failed (e.g. closed stderr): there is nowhere left to report it, and
      // dropping the line is better than throwing into the code that wanted to log.
    }
  };
}

function format(record: LogRecord, time: Date, withStack: boolean, fmt: LogFormat): string {
  const { level, ns, msg, ...fields } = record;
  const head = {
    time: time.toISOString(),
    level,
    ns: redactText(String(ns)),
    msg: redactText(String(msg)),
  };
  const seen = new WeakSet<object>();
  const rest: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    const name = Object.hasOwn(head, key) ? `_${key}` : redactText(key);
    rest[name] = sanitizeField(key, value, (v) => sanitize(v, withStack, 1, seen));
  }
  if (fmt === "json") return JSON.stringify({ ...head, ...rest });
  const parts = [head.time, level.toUpperCase().padEnd(5), head.ns, escapeControl(head.msg)];
  for (const [key, value] of Object.entries(rest)) parts.push(`${key}=${prettyValue(value)}`);
  return parts.join(" ");
}

function prettyValue(value: unknown): string {
  if (typeof value === "string") {
    return /^[^\s"=\\\p{Cc}]+$/u.test(value) ? value : JSON.stringify(value);
  }
  return JSON.stringify(value) ?? "null";
}

function escapeControl(text: string): string {
  return text.replace(/\p{Cc}/gu, (c) => JSON.stringify(c).slice(1, -1));
}

const encoder = new TextEncoder();

function writeStderr(line: string): void {
  // Synchronous on purpose: keeps lines in order and loses none when the process exits.
  const bytes = encoder.encode(`${line}\n`);
  for (let offset = 0, rounds = 0; offset < bytes.length && rounds < 1_000; rounds++) {
    offset += Deno.stderr.writeSync(bytes.subarray(offset));
  }
}

/** A logger that drops every record (for tests). */
export const silentLog: Log = (): void => {};

/** A logger that adds `fields` to every record it passes on to `log` (record fields win). */
export function withFields(log: Log, fields: Record<string, unknown>): Log {
  return (record) => log({ ...fields, ...record });
}
