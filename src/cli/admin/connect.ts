/**
 * `keycast connect - --key NAME [--policy NAME]`: accepts a client-initiated pairing (NIP-46
 * `nostrconnect://`). The URI holds the client's secret, so it is checked here but never echoed;
 * `-` reads it from standard input, the recommended way: a URI given as an argument is visible in
 * the process list, and the command warns about it.
 */
import { NostrConnectError, parseNostrConnectUri } from "../../nip46/nostrconnect.ts";
import { EXIT } from "../io.ts";
import { defineCommand, printJson, Problems } from "./common.ts";
import { cleanCell } from "./table.ts";
import type { ConnectInput } from "../client.ts";
import { grantFlags } from "./validate.ts";

/** The stderr line when the URI came through argv, where other local users can read it. */
export const ARGV_URI_WARNING =
  "Warning: the nostrconnect:// URI (and its secret) was visible in the process list; " +
  "next time give - and pass the URI on standard input\n";

/** `keycast connect …`. */
export const connectCommand = defineCommand({
  name: "connect",
  summary: "Accept a client's nostrconnect:// pairing for a stored key",
  usage: "keycast connect - --key NAME|NPUB [--policy NAME] [--label TEXT] [--expires-in 30d] " +
    "[--json]   (URI on stdin)\n" +
    "       keycast connect 'nostrconnect://…' --key NAME|NPUB [flags]",
  notes: "Arguments:\n" +
    "  -                   Read the nostrconnect:// URI from standard input (recommended: the URI\n" +
    "                      holds the client's secret, and arguments are visible in the process\n" +
    "                      list): paste it and press Ctrl-D, or pipe it in\n" +
    "  'nostrconnect://…'  The URI the client app shows, as an argument (prints a warning)",
  flags: [
    { name: "key", value: "NAME|NPUB", help: "Stored key the client may use (required)" },
    {
      name: "policy",
      value: "NAME",
      help:
        "Policy that limits what the client may do. Default: none (dangerous kinds still denied)",
    },
    {
      name: "label",
      value: "TEXT",
      help: "Note shown in authorizations list. Default: the app name from the URI",
    },
    {
      name: "expires-in",
      value: "DURATION",
      help: "Lifetime like 3600, 45m, 12h, 30d, 2w. Default: never expires",
    },
    { name: "json", boolean: true, help: "Print the new authorization as JSON" },
  ],
  run: async (call) => {
    const { values, positionals, ctx } = call;
    const problems = new Problems();
    if (positionals.length > 1) problems.add("Give exactly one nostrconnect:// URI");
    let uri = positionals[0];
    const fromArgv = uri !== undefined && uri !== "-";
    if (uri === "-") uri = (await ctx.io.readStdin()).trim();
    if (uri === undefined || uri === "") problems.add('"connect" needs a nostrconnect:// URI');
    else {
      const problem = nostrConnectProblem(uri);
      if (problem) problems.add(problem);
    }
    const grant = grantFlags(values, "connect", problems);
    problems.throwIfAny();
    if (fromArgv) ctx.io.err(ARGV_URI_WARNING);

    const input: ConnectInput = { uri: uri!, ...grant };
    const result = await (await call.client()).connect(input);
    if (values.has("json")) {
      printJson(ctx, result);
      return EXIT.ok;
    }
    ctx.io.out(
      `Connected client ${cleanCell(result.client_pubkey)} to key "${
        cleanCell(result.key_name)
      }" ` +
        `(authorization ${cleanCell(result.id)})\n`,
    );
    if (result.sent === false) {
      ctx.io.err(
        "Warning: no relay confirmed keycast's answer to the client; if the app keeps waiting, " +
          "pair again with a fresh nostrconnect:// URI\n",
      );
    }
    return EXIT.ok;
  },
});

/** The problem with `uri` as a pairing request, or undefined when it is usable. */
function nostrConnectProblem(uri: string): string | undefined {
  if (uri.trim().toLowerCase().startsWith("bunker://")) {
    return "That is a bunker:// URL, which clients use; connect takes a client's nostrconnect:// URI";
  }
  try {
    parseNostrConnectUri(uri);
    return undefined;
  } catch (error: unknown) {
    if (!(error instanceof NostrConnectError)) throw error;
    return error.message; // names the faulty part, never the secret
  }
}
