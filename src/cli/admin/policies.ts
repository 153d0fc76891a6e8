/**
 * `keycast policies list|add|update|remove`. `add` and `update` build the policy document from
 * `--rules-json` or `--rules-file` (a JSON object), set {@link RULE_FIELDS} from `--allow-kinds`,
 * `--allow-dangerous-kinds` and `--methods` on top of it, and check the result with the policy
 * module's own validator before sending it. `update` replaces the whole document; live
 * authorizations using the policy follow at once.
 */
import { type KindSpec, parsePolicyDocument } from "../../policy/document.ts";
import type { PolicyView } from "../client.ts";
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
import { formatTable, shortTime } from "./table.ts";
import { checkName } from "./validate.ts";

/** Fields of the policy document (see `src/policy/document.ts`) that the flags set. */
export const RULE_FIELDS = {
  kinds: "kinds",
  dangerousKinds: "allow_dangerous_kinds",
  methods: "methods",
} as const;
/** Largest rules document read from `--rules-json` or `--rules-file`, in characters. */
const MAX_RULES_CHARS = 64 * 1024;

/** `keycast policies …`. */
export const policiesCommand = defineCommand({
  name: "policies",
  summary: "List, add, update and remove the named policies that limit what clients may do",
  usage: "keycast policies list [--json]\n" +
    "       keycast policies add NAME [--allow-kinds 1,7] [--allow-dangerous-kinds 3] " +
    "[--methods sign_event,...] " +
    "[--rules-json '{...}' | --rules-file PATH|-]\n" +
    "       keycast policies update NAME [the flags of add] [--json]   " +
    "(replaces the whole document)\n" +
    "       keycast policies remove NAME",
  flags: [
    {
      name: "allow-kinds",
      multiple: true,
      value: "KINDS",
      help:
        `Event kinds or ranges (1,7,30000-39999) clients may sign (sets "${RULE_FIELDS.kinds}")`,
    },
    {
      name: "allow-dangerous-kinds",
      multiple: true,
      value: "KINDS",
      help: `Dangerous kinds (0, 3, 5, 10002, …) opted into (sets "${RULE_FIELDS.dangerousKinds}")`,
    },
    {
      name: "methods",
      multiple: true,
      value: "METHODS",
      help: `NIP-46 methods clients may call (sets "${RULE_FIELDS.methods}")`,
    },
    { name: "rules-json", value: "JSON", help: "The whole policy document as JSON" },
    { name: "rules-file", value: "PATH", help: "Read the policy document from a file, - = stdin" },
    JSON_FLAG,
  ],
  run: async (call) => {
    const [action] = call.positionals;
    if (action === "list") return await list(call);
    if (action === "add") return await add(call);
    if (action === "update") return await update(call);
    if (action === "remove") return await remove(call);
    throw new UsageError([
      action === undefined
        ? 'Missing action: use "policies list", "policies add NAME", "policies update NAME" ' +
          'or "policies remove NAME"'
        : `Unknown action "policies ${action}": use list, add, update or remove`,
    ]);
  },
});

async function list(call: Call): Promise<number> {
  onlyFlags(call, "policies list", ["json"]);
  if (call.positionals.length > 1) {
    throw new UsageError([`Unexpected argument "${call.positionals[1]}"`]);
  }
  const policies = await (await call.client()).listPolicies();
  if (call.values.has("json")) printJson(call.ctx, policies);
  else if (policies.length === 0) call.ctx.io.err("No policies\n");
  else {
    call.ctx.io.out(formatTable(["name", "type", "updated (UTC)", "rules"], policies.map(row)));
  }
  return EXIT.ok;
}

function row(policy: PolicyView): string[] {
  const rules = JSON.stringify(policy.rules) ?? "";
  return [
    policy.name,
    policy.builtin ? "built-in" : "custom",
    shortTime(policy.updated_at),
    rules.length > 60 ? `${rules.slice(0, 59)}…` : rules,
  ];
}

/** Flags that build a policy document (`add` and `update`). */
const RULE_FLAGS = ["allow-kinds", "allow-dangerous-kinds", "methods", "rules-json", "rules-file"];

async function add(call: Call): Promise<number> {
  onlyFlags(call, "policies add", RULE_FLAGS);
  const name = checkName("NAME", onePositional(call, "policies add", "a policy NAME"));
  const rules = await buildRules(call, "policies add");
  const policy = await (await call.client()).createPolicy(name, rules);
  call.ctx.io.out(`Added policy ${policy.name}\n`);
  return EXIT.ok;
}

async function update(call: Call): Promise<number> {
  onlyFlags(call, "policies update", [...RULE_FLAGS, "json"]);
  const name = checkName("NAME", onePositional(call, "policies update", "a policy NAME"));
  const rules = await buildRules(call, "policies update");
  const updated = await (await call.client()).updatePolicy(name, rules);
  if (call.values.has("json")) {
    printJson(call.ctx, updated);
    return EXIT.ok;
  }
  const count = updated.updated_authorizations;
  call.ctx.io.out(
    `Updated policy ${updated.name}: ${count} live authorization${count === 1 ? "" : "s"} ` +
      "updated\n",
  );
  return EXIT.ok;
}

/**
 * The policy document from the flags of `action`, checked like the server checks it; all
 * problems at once.
 */
export async function buildRules(call: Call, action: string): Promise<Record<string, unknown>> {
  const { values } = call;
  const problems = new Problems();
  const json = stringFlag(values, "rules-json");
  const file = stringFlag(values, "rules-file");
  let rules: Record<string, unknown> | undefined = {};
  if (json !== undefined && file !== undefined) {
    problems.add("Give either --rules-json or --rules-file, not both");
  } else if (json !== undefined) {
    rules = problems.check(() => parseDocument("--rules-json", json));
  } else if (file !== undefined) {
    const text = await readRules(call, file);
    rules = problems.check(() => parseDocument(`--rules-file "${file}"`, text));
  }
  const given = (name: string) => values.has(name) ? listFlag(values, name) : undefined;
  const kinds = given("allow-kinds");
  const dangerous = given("allow-dangerous-kinds");
  const methods = given("methods");
  if (rules && kinds) {
    rules[RULE_FIELDS.kinds] = problems.check(() => kindSpecs("--allow-kinds", kinds, true));
  }
  if (rules && dangerous) {
    rules[RULE_FIELDS.dangerousKinds] = problems.check(() =>
      kindSpecs("--allow-dangerous-kinds", dangerous, false)
    );
  }
  if (rules && methods) rules[RULE_FIELDS.methods] = [...new Set(methods)];
  if ([json, file, kinds, methods, dangerous].every((v) => v === undefined)) {
    problems.add(
      `"${action}" needs rules: --allow-kinds, --methods, --rules-json or --rules-file`,
    );
  }
  problems.throwIfAny();
  const parsed = parsePolicyDocument(rules);
  if (!parsed.ok) throw new UsageError(parsed.problems.map((p) => `Policy document: ${p}`));
  return rules!;
}

/** `1,7` (and with `ranges`, `30000-39999` as `[from, to]`), deduplicated. */
function kindSpecs(flag: string, items: readonly string[], ranges: boolean): KindSpec[] {
  const specs = new Map<string, KindSpec>();
  const bad: string[] = [];
  for (const item of items) {
    const range = ranges ? /^(\d{1,5})-(\d{1,5})$/.exec(item) : null;
    if (/^\d{1,5}$/.test(item)) specs.set(item, Number(item));
    else if (range) specs.set(item, [Number(range[1]), Number(range[2])]);
    else bad.push(item);
  }
  if (bad.length) {
    throw new UsageError([
      `${flag}: cannot use "${bad.join(",")}": give kind numbers like 1,7` +
      (ranges ? " or ranges like 30000-39999" : ""),
    ]);
  }
  return [...specs.values()];
}

function parseDocument(what: string, text: string): Record<string, unknown> {
  if (text.length > MAX_RULES_CHARS) {
    throw new UsageError([`${what}: the document is larger than ${MAX_RULES_CHARS} characters`]);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error: unknown) {
    throw new UsageError([
      `${what}: not valid JSON (${error instanceof Error ? error.message : error})`,
    ]);
  }
  if (typeof doc === "object" && doc !== null && !Array.isArray(doc)) {
    return doc as Record<string, unknown>;
  }
  throw new UsageError([`${what}: the policy document must be a JSON object`]);
}

async function readRules(call: Call, path: string): Promise<string> {
  if (path === "-") return await call.ctx.io.readStdin();
  try {
    const info = await Deno.stat(path);
    if (info.size > MAX_RULES_CHARS) {
      throw new UsageError([
        `--rules-file: cannot read "${path}": it is ${info.size} bytes, the limit is ${MAX_RULES_CHARS}`,
      ]);
    }
    return await Deno.readTextFile(path);
  } catch (error: unknown) {
    if (error instanceof UsageError) throw error;
    const reason = error instanceof Error ? error.name : String(error);
    throw new UsageError([`--rules-file: cannot read "${path}": ${reason}`]);
  }
}

async function remove(call: Call): Promise<number> {
  onlyFlags(call, "policies remove", []);
  const name = checkName("NAME", onePositional(call, "policies remove", "a policy NAME"));
  await (await call.client()).deletePolicy(name);
  call.ctx.io.out(`Removed policy ${name}\n`);
  return EXIT.ok;
}
