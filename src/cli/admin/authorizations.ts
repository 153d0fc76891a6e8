/**
 * `keycast authorizations list [--all] [--json]` and `keycast authorizations revoke ID`, where ID
 * is the full id or any unique prefix of it (resolved by `ids.ts`).
 */
import type { AuthorizationView } from "../client.ts";
import { EXIT } from "../io.ts";
import {
  type Call,
  defineCommand,
  JSON_FLAG,
  onePositional,
  onlyFlags,
  printJson,
  UsageError,
} from "./common.ts";
import { formatTable, shortTime } from "./table.ts";
import { resolveAuthorizationId } from "./ids.ts";
import { checkIdOrPrefix } from "./validate.ts";

/** `keycast authorizations …`. */
export const authorizationsCommand = defineCommand({
  name: "authorizations",
  summary: "List authorizations, or revoke one (its clients are cut off at once)",
  usage: "keycast authorizations list [--all] [--json]\n" +
    "       keycast authorizations revoke ID   (ID: the full id or a unique prefix, like 6f1c2b3a)",
  flags: [
    { name: "all", boolean: true, help: "Include revoked authorizations (list)" },
    JSON_FLAG,
  ],
  run: async (call) => {
    const [action] = call.positionals;
    if (action === "list") return await list(call);
    if (action === "revoke") return await revoke(call);
    throw new UsageError([
      action === undefined
        ? 'Missing action: use "authorizations list" or "authorizations revoke ID"'
        : `Unknown action "authorizations ${action}": use list or revoke`,
    ]);
  },
});

async function list(call: Call): Promise<number> {
  onlyFlags(call, "authorizations list", ["all", "json"]);
  if (call.positionals.length > 1) {
    throw new UsageError([`Unexpected argument "${call.positionals[1]}"`]);
  }
  const authorizations = await (await call.client()).listAuthorizations(call.values.has("all"));
  if (call.values.has("json")) printJson(call.ctx, authorizations);
  else if (authorizations.length === 0) {
    call.ctx.io.err("No authorizations: create one with keycast authorize --key NAME\n");
  } else {
    call.ctx.io.out(formatTable(
      ["id", "key", "label", "policy", "clients", "expires (UTC)", "status"],
      authorizations.map(row),
    ));
  }
  return EXIT.ok;
}

function row(a: AuthorizationView): string[] {
  return [
    a.id,
    a.key_name,
    a.label ?? "-",
    a.policy ?? "-",
    `${a.client_count}/${a.max_uses ?? "∞"}`,
    shortTime(a.expires_at, "never"),
    a.status ?? (a.revoked_at ? "revoked" : "active"),
  ];
}

async function revoke(call: Call): Promise<number> {
  onlyFlags(call, "authorizations revoke", []);
  const given = checkIdOrPrefix(
    "ID",
    onePositional(call, "authorizations revoke", "an authorization ID"),
  );
  const client = await call.client();
  const id = await resolveAuthorizationId(client, "ID", given);
  const result = await client.revokeAuthorization(id);
  call.ctx.io.out(
    result.already_revoked
      ? `Authorization ${id} was already revoked\n`
      : `Revoked authorization ${id}\n`,
  );
  return EXIT.ok;
}
