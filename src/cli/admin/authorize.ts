/**
 * `keycast authorize`: grants a stored key to NIP-46 clients and prints the `bunker://` URL — the
 * only place it is ever shown (the server keeps only a hash of its secret). Details go to stderr,
 * so `keycast authorize --key alice > url.txt` stores just the URL.
 */
import { type AuthorizationInput, type CreatedAuthorization } from "../client.ts";
import { pubkeyToHex } from "../../config/config.ts";
import { isValidName } from "../../http/fields.ts";
import { EXIT } from "../io.ts";
import { encodeQr, renderQr } from "../qr.ts";
import {
  type Call,
  defineCommand,
  JSON_FLAG,
  listFlag,
  printJson,
  stringFlag,
  UsageError,
} from "./common.ts";
import { cleanCell, shortTime } from "./table.ts";
import { checkLabel, checkName, checkRelays, parseDuration, parseMaxUsesFlag } from "./validate.ts";

/** `keycast authorize …`. */
export const authorizeCommand = defineCommand({
  name: "authorize",
  summary: "Create a bunker:// URL for a stored key (shown once), optionally as a QR code",
  usage: "keycast authorize --key NAME|NPUB [--relay URL]... [--policy NAME] [--max-uses N] " +
    "[--expires-in 30d] [--label TEXT] [--qr]",
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
    { name: "qr", boolean: true, help: "Also draw the URL as a QR code" },
    JSON_FLAG,
  ],
  run: async (call) => {
    const input = authorizationInput(call);
    const qr = call.values.has("qr");
    const json = call.values.has("json");
    if (qr && json) throw new UsageError(["--qr and --json cannot be used together"]);
    const created = await (await call.client()).createAuthorization(input);
    const { io } = call.ctx;
    if (json) {
      printJson(call.ctx, created);
      return EXIT.ok;
    }
    io.out(`${created.bunker_url}\n`);
    if (qr) {
      try {
        io.out(renderQr(encodeQr(created.bunker_url)));
      } catch (err: unknown) {
        if (!(err instanceof RangeError)) throw err;
        io.err(`Cannot draw the QR code: ${err.message}\n`);
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
  const problems: string[] = [];
  const check = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err: unknown) {
      if (!(err instanceof UsageError)) throw err;
      problems.push(...err.problems);
      return undefined;
    }
  };
  const key = stringFlag(values, "key")?.trim();
  if (key === undefined) problems.push('"authorize" needs --key NAME|NPUB');
  else if (!isValidName(key) && pubkeyToHex(key) === undefined) {
    problems.push(`--key: cannot use "${key}": give a key name, an npub or a 64-hex pubkey`);
  }
  const input: AuthorizationInput = { key: key ?? "" };
  const relays = listFlag(values, "relay");
  if (relays.length) input.relays = check(() => checkRelays(relays));
  const policy = stringFlag(values, "policy");
  if (policy !== undefined) input.policy = check(() => checkName("--policy", policy));
  const maxUses = stringFlag(values, "max-uses");
  if (maxUses !== undefined) input.max_uses = check(() => parseMaxUsesFlag(maxUses));
  const expiresIn = stringFlag(values, "expires-in");
  if (expiresIn !== undefined) {
    input.expires_in = check(() => parseDuration("--expires-in", expiresIn));
  }
  const label = stringFlag(values, "label");
  if (label !== undefined) input.label = check(() => checkLabel(label));
  if (problems.length) throw new UsageError(problems);
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
