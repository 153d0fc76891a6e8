/**
 * `keycast audit [--authorization ID] [--since ISO|30m] [--limit N] [--follow] [--json]`: prints
 * policy decisions from the audit log, oldest first, with how each request came (VIA: `nip46` or
 * `http`) (`--authorization` takes the 8-character
 * prefix the AUTH column shows). `--follow` keeps polling once a second with
 * `after_id` until SIGINT (or the abort signal); without `--since` it starts from now. Text from
 * the server never brings control or bidirectional characters to the terminal: the table shows
 * them as `?`, `--json` escapes them.
 */
import { delay } from "../../util/async.ts";
import type { AuditEntryView, AuditQuery } from "../client.ts";
import { type CommandContext, EXIT } from "../io.ts";
import {
  type Call,
  defineCommand,
  Problems,
  stringFlag,
  type Subcommand,
  UsageError,
} from "./common.ts";
import { cleanCell } from "./table.ts";
import { resolveAuthorizationId } from "./ids.ts";
import { checkIdOrPrefix, parseSince } from "./validate.ts";

/** Pause between polls of `--follow`, in ms. */
export const FOLLOW_INTERVAL_MS = 1_000;
/** Entries per request. Default 100; the server allows at most 1000. */
const DEFAULT_LIMIT = 100;

/** Test seams of {@link runAudit}. */
export interface AuditOptions {
  /** Stops `--follow`. Default: SIGINT. */
  signal?: AbortSignal;
  /** Pause between polls, in ms. Default {@link FOLLOW_INTERVAL_MS}. */
  intervalMs?: number;
  /** Clock for `--since 30m` and the start of `--follow`, in ms. Default Date.now. */
  now?: () => number;
}

/** Builds `keycast audit`; the options are test seams. */
export function createAuditCommand(options: AuditOptions = {}): Subcommand {
  return defineCommand({
    name: "audit",
    summary: "Show the audit log of signer decisions (--follow to keep watching)",
    usage: "keycast audit [--authorization ID] [--since ISO|30m] [--limit N] [--follow] [--json]",
    flags: [
      {
        name: "authorization",
        value: "ID",
        help: "Only this authorization's entries (its id, or a unique prefix like the AUTH column)",
      },
      { name: "since", value: "TIME", help: "Start at an ISO 8601 time or a duration ago (30m)" },
      {
        name: "limit",
        value: "N",
        help: `Entries per request, 1 to 1000. Default ${DEFAULT_LIMIT}`,
      },
      { name: "follow", boolean: true, help: "Keep polling for new entries until Ctrl-C" },
      { name: "json", boolean: true, help: "Print JSON, one entry per line" },
    ],
    run: async (call) => {
      if (!call.values.has("follow") || options.signal) return await runAudit(call, options);
      const stop = new AbortController();
      const onSignal = () => stop.abort(new Error("Interrupted"));
      Deno.addSignalListener("SIGINT", onSignal);
      try {
        return await runAudit(call, { ...options, signal: stop.signal });
      } finally {
        Deno.removeSignalListener("SIGINT", onSignal);
      }
    },
  });
}

/** `keycast audit …`. */
export const auditCommand: Subcommand = createAuditCommand();

async function runAudit(call: Call, options: AuditOptions = {}): Promise<number> {
  const { values, ctx } = call;
  const now = options.now ?? Date.now;
  if (call.positionals.length) {
    throw new UsageError([`Unexpected argument "${call.positionals[0]}"`]);
  }
  const query: AuditQuery = { limit: DEFAULT_LIMIT };
  const problems = new Problems();
  const authorization = stringFlag(values, "authorization");
  if (authorization !== undefined) {
    query.authorization = problems.check(() => checkIdOrPrefix("--authorization", authorization));
  }
  const since = stringFlag(values, "since");
  if (since !== undefined) query.since = problems.check(() => parseSince(since, now()));
  const limit = stringFlag(values, "limit");
  if (limit !== undefined) {
    if (/^\d{1,4}$/.test(limit) && Number(limit) >= 1 && Number(limit) <= 1000) {
      query.limit = Number(limit);
    } else problems.add(`--limit: cannot use "${limit}": give a whole number from 1 to 1000`);
  }
  problems.throwIfAny();

  const follow = values.has("follow");
  const json = values.has("json");
  if (follow && query.since === undefined) query.since = new Date(now()).toISOString();
  const client = await call.client();
  if (query.authorization !== undefined) {
    query.authorization = await resolveAuthorizationId(
      client,
      "--authorization",
      query.authorization,
    );
  }
  const signal = options.signal;
  try {
    let entries = await client.audit(query, signal);
    if (!json) ctx.io.out(HEADER);
    print(ctx, entries, json);
    if (!follow) {
      if (entries.length === query.limit) {
        ctx.io.err(`Showing the first ${query.limit} entries: use --since or --limit for more\n`);
      }
      return EXIT.ok;
    }
    for (;;) {
      const last = entries.at(-1);
      if (last) query.afterId = last.id;
      // A full page means more are waiting: ask again at once.
      if (entries.length < query.limit!) {
        await delay(options.intervalMs ?? FOLLOW_INTERVAL_MS, { signal });
      }
      entries = await client.audit(query, signal);
      print(ctx, entries, json);
    }
  } catch (error: unknown) {
    if (signal?.aborted) return EXIT.ok; // Ctrl-C ends --follow normally
    throw error;
  }
}

const COLUMNS = [19, 8, 5, 14, 5, 8, 8] as const;
const HEADER = line([
  "TIME (UTC)",
  "DECISION",
  "VIA",
  "METHOD",
  "KIND",
  "AUTH",
  "CLIENT",
  "REASON",
]);

function line(cells: readonly string[]): string {
  return cells.map((cell, i) => i < COLUMNS.length ? cell.padEnd(COLUMNS[i]!) : cell).join("  ")
    .trimEnd() + "\n";
}

/**
 * `value` as one line of JSON with every character outside printable ASCII escaped (`\u202e`):
 * the same data to a JSON reader, but no control or bidirectional character the server sent
 * reaches the terminal (the table shows them as `?`, `cleanCell`).
 */
function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[^\x20-\x7e]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

function print(ctx: CommandContext, entries: readonly AuditEntryView[], json: boolean): void {
  for (const entry of entries) {
    if (json) {
      ctx.io.out(`${asciiJson(entry)}\n`);
      continue;
    }
    const time = Date.parse(entry.at);
    ctx.io.out(line([
      Number.isNaN(time)
        ? String(entry.at)
        : new Date(time).toISOString().slice(0, 19).replace("T", " "),
      entry.decision ?? "-",
      // Servers from before HTTP signing send no transport: every row of theirs came over NIP-46.
      entry.transport ?? "nip46",
      entry.method ?? "-",
      entry.event_kind === null || entry.event_kind === undefined ? "-" : String(entry.event_kind),
      entry.authorization_id?.slice(0, 8) ?? "-",
      entry.client_pubkey?.slice(0, 8) ?? "-",
      entry.reason ?? "",
    ].map((cell) => cleanCell(String(cell)))));
  }
}
