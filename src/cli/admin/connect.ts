/**
 * `keycast connect 'nostrconnect://…' --key NAME [--policy NAME]`: accepts a client-initiated
 * pairing (NIP-46 `nostrconnect://`). The URI holds the client's secret, so it is checked here but
 * never echoed; `-` reads it from standard input instead of argv.
 */
import { relayUrlProblem } from "../../config/config.ts";
import { EXIT } from "../io.ts";
import { defineCommand, JSON_FLAG, printJson, stringFlag, UsageError } from "./common.ts";
import { cleanCell } from "./table.ts";
import { checkName } from "./validate.ts";

/** `keycast connect …`. */
export const connectCommand = defineCommand({
  name: "connect",
  summary: "Accept a client's nostrconnect:// pairing for a stored key",
  usage:
    "keycast connect 'nostrconnect://…' --key NAME [--policy NAME]   (- reads the URI from stdin)",
  flags: [
    { name: "key", value: "NAME", help: "Stored key the client may use" },
    { name: "policy", value: "NAME", help: "Policy that limits what the client may do" },
    JSON_FLAG,
  ],
  run: async (call) => {
    const { values, positionals, ctx } = call;
    const problems: string[] = [];
    if (positionals.length > 1) problems.push("Give exactly one nostrconnect:// URI");
    let uri = positionals[0];
    if (uri === "-") uri = (await ctx.io.readStdin()).trim();
    let clientPubkey: string | undefined;
    if (uri === undefined || uri === "") problems.push('"connect" needs a nostrconnect:// URI');
    else {
      const parsed = checkNostrConnect(uri);
      if (typeof parsed === "string") clientPubkey = parsed;
      else problems.push(...parsed);
    }
    const key = stringFlag(values, "key");
    if (key === undefined) problems.push('"connect" needs --key NAME');
    const policy = stringFlag(values, "policy");
    for (const [flag, name] of [["--key", key], ["--policy", policy]] as const) {
      if (name === undefined) continue;
      try {
        checkName(flag, name);
      } catch (err: unknown) {
        if (!(err instanceof UsageError)) throw err;
        problems.push(...err.problems);
      }
    }
    if (problems.length) throw new UsageError(problems);

    const client = await call.client();
    const result = await client.connect({ uri: uri!, key: key!, ...(policy ? { policy } : {}) });
    if (values.has("json")) {
      printJson(ctx, result);
      return EXIT.ok;
    }
    const peer = typeof result.client_pubkey === "string" ? result.client_pubkey : clientPubkey!;
    const id = typeof result.id === "string" ? ` (authorization ${cleanCell(result.id)})` : "";
    ctx.io.out(`Connected client ${cleanCell(peer)} to key "${key}"${id}\n`);
    return EXIT.ok;
  },
});

/** The client pubkey of a well-formed `nostrconnect://` URI, or its problems (never the URI). */
export function checkNostrConnect(uri: string): string | string[] {
  const match = /^nostrconnect:\/\/([^?/]*)\/?\?(.*)$/s.exec(uri.trim());
  if (!match) {
    return [
      uri.startsWith("bunker://")
        ? "That is a bunker:// URL, which clients use; connect takes a client's nostrconnect:// URI"
        : "Cannot use the URI: it must look like nostrconnect://<client pubkey>?relay=…&secret=…",
    ];
  }
  const problems: string[] = [];
  const clientPubkey = match[1]!;
  if (!/^[0-9a-f]{64}$/i.test(clientPubkey)) {
    problems.push("Cannot use the nostrconnect URI: its client pubkey is not 64 hex digits");
  }
  const params = new URLSearchParams(match[2]);
  const relays = params.getAll("relay");
  if (relays.length === 0) problems.push("Cannot use the nostrconnect URI: it names no relay");
  for (const relay of relays) {
    const problem = relayUrlProblem(relay);
    if (problem) {
      problems.push(`Cannot use the nostrconnect URI: relay "${cleanCell(relay)}": ${problem}`);
    }
  }
  if (!params.get("secret")) problems.push("Cannot use the nostrconnect URI: it has no secret");
  return problems.length ? problems : clientPubkey.toLowerCase();
}
