/**
 * `keycast authorize`: grants a stored key to NIP-46 clients and prints the `bunker://` URL — the
 * only place it is ever shown (the server keeps only a hash of its secret). Details go to stderr,
 * so `keycast authorize --key alice > url.txt` stores just the URL.
 */
import { type AuthorizationInput, type CreatedAuthorization } from "../client.ts";
import { EXIT } from "../io.ts";
import { encodeQr, renderQr } from "../qr.ts";
import {
  type Call,
  defineCommand,
  JSON_FLAG,
  listFlag,
  printJson,
  Problems,
  stringFlag,
  UsageError,
} from "./common.ts";
import { cleanCell, shortTime } from "./table.ts";
import { checkRelays, grantFlags, parseMaxUsesFlag } from "./validate.ts";

/** `keycast authorize …`. */
export const authorizeCommand = defineCommand({
  name: "authorize",
  summary: "Create a bunker:// URL for a stored key (shown once), optionally as a QR code",
  usage: "keycast authorize --key NAME|NPUB [--relay URL]... [--policy NAME] [--max-uses N] " +
    "[--expires-in 30d] [--label TEXT] [--qr | --qr-light]",
  flags: [
    { name: "key", value: "NAME|NPUB", help: "Stored key to grant (its name, npub or hex pubkey)" },
    {
      name: "relay",
      multiple: true,
      value: "URL",
      help: "Relay the client talks through (ws:// or wss://). Default: the server's relays",
    },
    { name: "policy", value: "NAME", help: "Policy that limits what clients may do" },
    {
      name: "max-uses",
      value: "N",
      help: "How many distinct clients may connect, or unlimited. Default 1",
    },
    { name: "expires-in", value: "DURATION", help: "Lifetime like 12h, 30d, 2w. Default: none" },
    { name: "label", value: "TEXT", help: "Note shown in authorizations list" },
    {
      name: "qr",
      boolean: true,
      help: "Also draw the URL as a QR code, for a terminal with a dark background",
    },
    {
      name: "qr-light",
      boolean: true,
      help: "Like --qr, for a terminal with a light background (dark text)",
    },
    JSON_FLAG,
  ],
  run: async (call) => {
    const input = authorizationInput(call);
    const light = call.values.has("qr-light");
    const qr = light || call.values.has("qr");
    const json = call.values.has("json");
    if (qr && json) {
      throw new UsageError([`--${light ? "qr-light" : "qr"} and --json cannot be used together`]);
    }
    const created = await (await call.client()).createAuthorization(input);
    const { io } = call.ctx;
    if (json) {
      printJson(call.ctx, created);
      return EXIT.ok;
    }
    io.out(`${created.bunker_url}\n`);
    if (qr) {
      try {
        io.out(renderQr(encodeQr(created.bunker_url), { invert: light }));
      } catch (error: unknown) {
        if (!(error instanceof RangeError)) throw error;
        io.err(`Cannot draw the QR code: ${error.message}\n`);
      }
    }
    io.err(describe(created));
    return EXIT.ok;
  },
});

/** The request body from the flags, every problem listed at once. */
function authorizationInput(call: Call): AuthorizationInput {
  const { values } = call;
  if (call.positionals.length > 0) {
    throw new UsageError([`Unexpected argument "${call.positionals[0]}"`]);
  }
  const problems = new Problems();
  const grant = grantFlags(values, "authorize", problems);
  const input: AuthorizationInput = { key: grant.key };
  const relays = listFlag(values, "relay");
  if (relays.length) input.relays = problems.check(() => checkRelays(relays));
  if (grant.policy !== undefined) input.policy = grant.policy;
  const maxUses = stringFlag(values, "max-uses");
  if (maxUses !== undefined) input.max_uses = problems.check(() => parseMaxUsesFlag(maxUses));
  if (grant.expires_in !== undefined) input.expires_in = grant.expires_in;
  if (grant.label !== undefined) input.label = grant.label;
  problems.throwIfAny();
  return input;
}

/** What was created, for stderr (no URL, no secret). */
function describe(created: CreatedAuthorization): string {
  const limits = [
    `policy ${created.policy ?? "none"}`,
    `max uses ${created.max_uses ?? "unlimited"}`,
    `expires ${created.expires_at ? `${shortTime(created.expires_at)} UTC` : "never"}`,
  ];
  const lines = [
    `Authorization ${created.id} for key "${cleanCell(created.key_name)}": ${limits.join(", ")}.`,
    `Relays: ${created.relays.map(cleanCell).join(", ")}`,
    "The URL above is shown only this once: give it to the client it is for, and keep it secret.",
  ];
  if (created.subscribed === false) {
    lines.push(
      "Warning: keycast has not confirmed its relay subscription yet; " +
        "a client that connects right away may have to retry.",
    );
  }
  return lines.join("\n") + "\n";
}
