/**
 * `keycast keys generate|import|list`. Secrets never travel through argv: `import` reads the
 * secret key from standard input — an nsec, 64 hex digits or a NIP-49 ncryptsec on the first line.
 * An ncryptsec's password is the second line of standard input, else `KEYCAST_IMPORT_PASSWORD`.
 * Only npubs are ever printed.
 */
import { EXIT } from "../io.ts";
import {
  type Call,
  defineCommand,
  JSON_FLAG,
  onlyFlags,
  printJson,
  stringFlag,
  UsageError,
} from "./common.ts";
import { formatTable, shortTime } from "./table.ts";
import { looksSecret } from "../../domain/fields.ts";
import { checkName } from "./validate.ts";

/** Environment variable holding an ncryptsec's password when stdin has only the secret. */
export const IMPORT_PASSWORD_ENV = "KEYCAST_IMPORT_PASSWORD";

/** `keycast keys …`. */
export const keysCommand = defineCommand({
  name: "keys",
  summary: "Generate, import (from stdin) and list the stored user keys",
  usage: "keycast keys generate --name NAME\n" +
    "       keycast keys import --name NAME < secret   " +
    `(nsec, hex or ncryptsec; password on line 2 or ${IMPORT_PASSWORD_ENV})\n` +
    "       keycast keys list [--json]",
  flags: [
    { name: "name", value: "NAME", help: "Name of the new key (generate, import)" },
    JSON_FLAG,
  ],
  run: async (call) => {
    const [action] = call.positionals;
    switch (action) {
      case "generate":
        return await generate(call);
      case "import":
        return await importKey(call);
      case "list":
        return await list(call);
      default:
        throw new UsageError([
          action === undefined
            ? 'Missing action: use "keys generate", "keys import" or "keys list"'
            : `Unknown action "keys ${action}": use generate, import or list`,
        ]);
    }
  },
});

function requireName(call: Call, action: string): string {
  const name = stringFlag(call.values, "name");
  if (name === undefined) throw new UsageError([`"${action}" needs --name NAME`]);
  return checkName("--name", name);
}

function noPositionals(call: Call, action: string): void {
  const extra = call.positionals[1];
  if (extra === undefined) return;
  throw new UsageError([
    looksSecret(extra)
      ? `"${action}" reads the secret key from standard input, never from an argument ` +
        "(arguments show in ps and shell history)"
      : `Unexpected argument "${extra}"`,
  ]);
}

async function generate(call: Call): Promise<number> {
  onlyFlags(call, "keys generate", ["name"]);
  noPositionals(call, "keys generate");
  const name = requireName(call, "keys generate");
  const key = await (await call.client()).createKey(name);
  call.ctx.io.out(`${key.npub}\n`);
  return EXIT.ok;
}

async function importKey(call: Call): Promise<number> {
  onlyFlags(call, "keys import", ["name"]);
  noPositionals(call, "keys import");
  const name = requireName(call, "keys import");
  const { secret, password } = readSecret(await call.ctx.io.readStdin(), call.ctx.env);
  const key = await (await call.client()).importKey({ name, secret, password });
  call.ctx.io.out(`${key.npub}\n`);
  return EXIT.ok;
}

/** The secret (first non-empty line) and, for an ncryptsec, its password. */
export function readSecret(
  stdin: string,
  env: ReadonlyMap<string, string>,
): { secret: string; password?: string } {
  const lines = stdin.split(/\r?\n/);
  const first = lines.findIndex((line) => line.trim() !== "");
  if (first === -1) {
    throw new UsageError([
      "No secret key on standard input: pipe an nsec, 64 hex digits or an ncryptsec, " +
      "e.g. keycast keys import --name NAME < key.txt",
    ]);
  }
  const secret = lines[first]!.trim();
  const passwordLine = lines[first + 1];
  if (lines.slice(first + 2).some((line) => line.trim() !== "")) {
    throw new UsageError([
      "Standard input has more than a secret key and a password: import one key at a time",
    ]);
  }
  if (!secret.toLowerCase().startsWith("ncryptsec1")) return { secret };
  const password = passwordLine || env.get(IMPORT_PASSWORD_ENV) || undefined;
  if (password === undefined) {
    throw new UsageError([
      "An ncryptsec needs its password: give it on the second line of standard input " +
      `or in ${IMPORT_PASSWORD_ENV}`,
    ]);
  }
  return { secret, password };
}

async function list(call: Call): Promise<number> {
  onlyFlags(call, "keys list", ["json"]);
  noPositionals(call, "keys list");
  const keys = await (await call.client()).listKeys();
  if (call.values.has("json")) printJson(call.ctx, keys);
  else if (keys.length === 0) {
    call.ctx.io.err("No keys yet: create one with keycast keys generate --name NAME\n");
  } else {
    call.ctx.io.out(formatTable(
      ["name", "npub", "created (UTC)"],
      keys.map((key) => [key.name, key.npub, shortTime(key.created_at)]),
    ));
  }
  return EXIT.ok;
}
