/**
 * `keycast policies list|add|remove`. `add` builds the policy document from `--rules-json` or
 * `--rules-file` (a JSON object) and sets {@link RULE_FIELDS} from `--allow-kinds` and
 * `--methods` on top of it; the server validates the result.
 */
import { METHODS } from "../../nip46/protocol.ts";
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
  stringFlag,
  UsageError,
} from "./common.ts";
import { formatTable, shortTime } from "./table.ts";
import { checkName } from "./validate.ts";

/** Fields of the policy document that `--allow-kinds` and `--methods` set. */
export const RULE_FIELDS = { kinds: "allow_kinds", methods: "methods" } as const;
/** Largest rules document read from `--rules-json` or `--rules-file`, in characters. */
const MAX_RULES_CHARS = 64 * 1024;

/** `keycast policies …`. */
export const policiesCommand = defineCommand({
  name: "policies",
  summary: "List, add and remove the named policies that limit what clients may do",
  usage: "keycast policies list [--json]\n" +
    "       keycast policies add NAME [--allow-kinds 1,7] [--methods sign_event,...] " +
    "[--rules-json '{...}' | --rules-file PATH|-]\n" +
    "       keycast policies remove NAME",
  flags: [
    {
      name: "allow-kinds",
      multiple: true,
      value: "KINDS",
      help: `Event kinds clients may sign (add; sets "${RULE_FIELDS.kinds}")`,
    },
    {
      name: "methods",
      multiple: true,
      value: "METHODS",
      help: `NIP-46 methods clients may call (add; sets "${RULE_FIELDS.methods}")`,
    },
    { name: "rules-json", value: "JSON", help: "The whole policy document as JSON (add)" },
    { name: "rules-file", value: "PATH", help: "Read the policy document from a file, - = stdin" },
    JSON_FLAG,
  ],
  run: async (call) => {
    const [action] = call.positionals;
    if (action === "list") return await list(call);
    if (action === "add") return await add(call);
    if (action === "remove") return await remove(call);
    throw new UsageError([
      action === undefined
        ? 'Missing action: use "policies list", "policies add NAME" or "policies remove NAME"'
        : `Unknown action "policies ${action}": use list, add or remove`,
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

async function add(call: Call): Promise<number> {
  onlyFlags(call, "policies add", ["allow-kinds", "methods", "rules-json", "rules-file"]);
  const name = checkName("NAME", onePositional(call, "policies add", "a policy NAME"));
  const rules = await buildRules(call);
  const policy = await (await call.client()).createPolicy(name, rules);
  call.ctx.io.out(`Added policy ${policy.name}\n`);
  return EXIT.ok;
}

/** The policy document from the flags, every problem listed at once. */
export async function buildRules(call: Call): Promise<Record<string, unknown>> {
  const { values } = call;
  const problems: string[] = [];
  const json = stringFlag(values, "rules-json");
  const file = stringFlag(values, "rules-file");
  let rules: Record<string, unknown> = {};
  if (json !== undefined && file !== undefined) {
    problems.push("Give either --rules-json or --rules-file, not both");
  } else if (json !== undefined) {
    rules = parseDocument("--rules-json", json, problems);
  } else if (file !== undefined) {
    rules = parseDocument(`--rules-file "${file}"`, await readRules(call, file), problems);
  }
  const kinds = listFlag(values, "allow-kinds");
  if (values.has("allow-kinds")) {
    const bad = kinds.filter((kind) => !/^\d{1,5}$/.test(kind) || Number(kind) > 65535);
    if (bad.length) {
      problems.push(`--allow-kinds: cannot use "${bad.join(",")}": kinds are numbers 0 to 65535`);
    }
    rules[RULE_FIELDS.kinds] = [...new Set(kinds.map(Number))];
  }
  const methods = listFlag(values, "methods");
  if (values.has("methods")) {
    const known: readonly string[] = METHODS;
    const bad = methods.filter((method) => !known.includes(method));
    if (bad.length) {
      problems.push(
        `--methods: unknown method "${bad.join(",")}": use ${METHODS.join(", ")}`,
      );
    }
    rules[RULE_FIELDS.methods] = [...new Set(methods)];
  }
  if (
    [json, file, values.get("allow-kinds"), values.get("methods")].every((v) => v === undefined)
  ) {
    problems.push(
      '"policies add" needs rules: --allow-kinds, --methods, --rules-json or --rules-file',
    );
  }
  if (problems.length) throw new UsageError(problems);
  return rules;
}

function parseDocument(what: string, text: string, problems: string[]): Record<string, unknown> {
  if (text.length > MAX_RULES_CHARS) {
    problems.push(`${what}: the document is larger than ${MAX_RULES_CHARS} characters`);
    return {};
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err: unknown) {
    problems.push(`${what}: not valid JSON (${err instanceof Error ? err.message : err})`);
    return {};
  }
  if (typeof doc === "object" && doc !== null && !Array.isArray(doc)) {
    return doc as Record<string, unknown>;
  }
  problems.push(`${what}: the policy document must be a JSON object`);
  return {};
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
  } catch (err: unknown) {
    if (err instanceof UsageError) throw err;
    const reason = err instanceof Error ? err.name : String(err);
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
