/**
 * `keycast oauth clients add|list|remove`: the OAuth clients an operator registers, over
 * `/api/oauth-clients`. Registering pins the exact redirect URIs a client's codes may go to (the
 * only way to allow an app scheme like `com.example.app:/cb`) and may name the policy its grants
 * get when the app asks for none.
 */
import type { OAuthClientView } from "../client.ts";
import { EXIT } from "../io.ts";
import {
  type Call,
  defineCommand,
  JSON_FLAG,
  listFlag,
  onePositional,
  onlyFlags,
  printJson,
  Problems,
  stringFlag,
  UsageError,
} from "./common.ts";
import { cleanCell, formatTable, shortTime } from "./table.ts";
import {
  checkClientId,
  checkClientName,
  checkName,
  checkRedirectUris,
  MAX_REDIRECT_URIS,
} from "./validate.ts";

/** `keycast oauth …`. */
export const oauthCommand = defineCommand({
  name: "oauth",
  summary: "Register, list and remove OAuth clients (apps with pinned redirect URIs)",
  usage: "keycast oauth clients add CLIENT_ID --name NAME --redirect-uri URI " +
    "[--redirect-uri URI]... [--policy NAME] [--json]\n" +
    "       keycast oauth clients list [--json]\n" +
    "       keycast oauth clients remove CLIENT_ID",
  notes: "Arguments:\n" +
    "  CLIENT_ID  The client_id the app sends: 1 to 200 printable ASCII characters, no spaces\n\n" +
    "A registered client's codes go only to its redirect URIs, each matched exactly. Any scheme\n" +
    "may be registered (com.example.app:/callback for a mobile app), but not javascript:, data:,\n" +
    "vbscript: or file:, and never a fragment or credentials; apps nobody registered may use\n" +
    "only https:// URIs and http:// on loopback. With serve --oauth registered, only registered\n" +
    "clients may ask at all.\n\n" +
    "Adding a CLIENT_ID that is registered already replaces its name, URIs and policy.\n" +
    "--redirect-uri splits at commas like every list flag: register a URI that holds a comma\n" +
    "on the admin page. Removing a client leaves the grants people already gave it until they\n" +
    "are revoked.",
  flags: [
    { name: "name", value: "NAME", help: "The app's name as people see it (add)" },
    {
      name: "redirect-uri",
      multiple: true,
      value: "URI",
      help: `Where the app receives its codes, 1 to ${MAX_REDIRECT_URIS} URIs (add)`,
    },
    {
      name: "policy",
      value: "NAME",
      help: "The policy its grants get when the app asks for none (add). Default: social",
    },
    JSON_FLAG,
  ],
  run: async (call) => {
    const [group, action] = call.positionals;
    const run = group === "clients" && action !== undefined ? ACTIONS.get(action) : undefined;
    // The actions read their arguments after the action word, as the other commands' do.
    if (run) return await run({ ...call, positionals: call.positionals.slice(1) });
    throw new UsageError([
      group === undefined || (group === "clients" && action === undefined)
        ? 'Missing action: use "oauth clients add CLIENT_ID", "oauth clients list" or ' +
          '"oauth clients remove CLIENT_ID"'
        : group === "clients"
        ? `Unknown action "oauth clients ${action}": use add, list or remove`
        : `Unknown action "oauth ${group}": use clients add, clients list or clients remove`,
    ]);
  },
});

const ACTIONS = new Map<string, (call: Call) => Promise<number>>([
  ["add", add],
  ["list", list],
  ["remove", remove],
]);

async function add(call: Call): Promise<number> {
  onlyFlags(call, "oauth clients add", ["name", "redirect-uri", "policy", "json"]);
  const problems = new Problems();
  const clientId = problems.check(() =>
    checkClientId("CLIENT_ID", onePositional(call, "oauth clients add", "a CLIENT_ID"))
  );
  const nameFlag = stringFlag(call.values, "name");
  if (nameFlag === undefined) problems.add('"oauth clients add" needs --name NAME');
  const name = nameFlag === undefined ? undefined : problems.check(() => checkClientName(nameFlag));
  const uriFlags = listFlag(call.values, "redirect-uri");
  if (uriFlags.length === 0) problems.add('"oauth clients add" needs --redirect-uri URI');
  const redirectUris = uriFlags.length === 0
    ? undefined
    : problems.check(() => checkRedirectUris(uriFlags));
  const policyFlag = stringFlag(call.values, "policy");
  const policy = policyFlag === undefined
    ? undefined
    : problems.check(() => checkName("--policy", policyFlag));
  problems.throwIfAny();
  const client = await (await call.client()).registerOAuthClient({
    client_id: clientId!,
    name: name!,
    redirect_uris: redirectUris!,
    ...(policy === undefined ? {} : { policy }),
  });
  if (call.values.has("json")) {
    printJson(call.ctx, client);
    return EXIT.ok;
  }
  const count = client.redirect_uris.length;
  const policyText = client.policy === null
    ? "the server's default policy"
    : `policy ${cleanCell(client.policy)}`;
  call.ctx.io.out(
    `Registered OAuth client ${cleanCell(client.client_id)}: ` +
      `${count} redirect URI${count === 1 ? "" : "s"}, ${policyText}\n`,
  );
  return EXIT.ok;
}

async function list(call: Call): Promise<number> {
  onlyFlags(call, "oauth clients list", ["json"]);
  const extra = call.positionals[1];
  if (extra !== undefined) throw new UsageError([`Unexpected argument "${extra}"`]);
  const clients = await (await call.client()).listOAuthClients();
  if (call.values.has("json")) printJson(call.ctx, clients);
  else if (clients.length === 0) {
    call.ctx.io.err(
      "No OAuth clients registered: add one with " +
        "keycast oauth clients add CLIENT_ID --name NAME --redirect-uri URI\n",
    );
  } else {
    call.ctx.io.out(formatTable(
      ["client id", "name", "policy", "created (UTC)", "redirect uris"],
      clients.map(row),
    ));
  }
  return EXIT.ok;
}

function row(client: OAuthClientView): string[] {
  return [
    client.client_id,
    client.name,
    client.policy ?? "-",
    shortTime(client.created_at),
    // URIs hold no spaces (a comma may be part of one).
    client.redirect_uris.join(" "),
  ];
}

async function remove(call: Call): Promise<number> {
  onlyFlags(call, "oauth clients remove", []);
  const clientId = checkClientId(
    "CLIENT_ID",
    onePositional(call, "oauth clients remove", "a CLIENT_ID"),
  );
  await (await call.client()).removeOAuthClient(clientId);
  call.ctx.io.out(
    `Removed OAuth client ${cleanCell(clientId)}: ` +
      "the grants people already gave it stay until revoked\n",
  );
  return EXIT.ok;
}
