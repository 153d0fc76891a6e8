/**
 * `keycast instances [--json]`: the keycast instances serving the database (`GET /api/instances`),
 * oldest first, with their address, version, start, last heartbeat, lease and whether they are
 * handing their bunkers over. `*` marks the instance that answered. Without `--cluster` the server
 * lists itself alone, with no heartbeat or lease. `--json` prints the answer as it came.
 */
import type { InstancesView } from "../client.ts";
import { EXIT } from "../io.ts";
import { type Call, defineCommand, JSON_FLAG, printJson, UsageError } from "./common.ts";
import { formatTable } from "./table.ts";

/** `keycast instances …`. */
export const instancesCommand = defineCommand({
  name: "instances",
  summary: "List the keycast instances serving the database (several with serve --cluster)",
  usage: "keycast instances [--json]",
  flags: [JSON_FLAG],
  notes: "* marks the instance that answered; times are UTC. An instance whose lease has passed\n" +
    "is no longer listed: the others have taken its bunkers over. Without serve --cluster the\n" +
    "server lists itself alone, with no heartbeat or lease.",
  run: async (call) => await list(call),
});

async function list(call: Call): Promise<number> {
  const extra = call.positionals[0];
  if (extra !== undefined) throw new UsageError([`Unexpected argument "${extra}"`]);
  const client = await call.client();
  const answer = await client.listInstances();
  if (call.values.has("json")) {
    printJson(call.ctx, answer);
    return EXIT.ok;
  }
  if (answer.instances.length > 0) call.ctx.io.out(table(answer));
  for (const note of notes(answer, client.server)) call.ctx.io.err(`${note}\n`);
  return EXIT.ok;
}

function table(answer: InstancesView): string {
  return formatTable(
    ["", "id", "address", "version", "started", "last heartbeat", "lease until", "leaving"],
    answer.instances.map((instance) => [
      instance.id === answer.self ? "*" : "",
      instance.id,
      instance.address,
      instance.version,
      secondsTime(instance.started_at),
      secondsTime(instance.heartbeat_at),
      secondsTime(instance.lease_until),
      instance.leaving ? "yes" : "no",
    ]),
  );
}

/** What the table cannot say: a server without `--cluster`, or one missing from its own list. */
function notes(answer: InstancesView, server: string): string[] {
  if (!answer.cluster) {
    return [`keycast at ${server} runs without --cluster: it is the only instance`];
  }
  if (answer.instances.some((instance) => instance.id === answer.self)) return [];
  return [
    `The instance that answered (${answer.self}) is not among the live ones: its lease has ` +
    "passed (it serves none of its bunkers until it renews it) or it has not joined yet",
  ];
}

/** `2026-01-31 14:05:09` from an ISO 8601 time; `-` for none, the input when it does not parse. */
function secondsTime(iso: string | null | undefined): string {
  if (!iso) return "-";
  const time = Date.parse(iso);
  return Number.isNaN(time) ? iso : new Date(time).toISOString().slice(0, 19).replace("T", " ");
}
