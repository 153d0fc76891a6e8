/**
 * Request schemas (valibot) and the middleware that applies them with Hono's validator. A request
 * that does not fit is answered 400 `{"error": "<field>: <problem>", "field"}` for the first
 * problem; unknown fields are refused, so a typo cannot silently drop a limit. Secret fields
 * (`secret`, `password`, the nostrconnect `uri`) are never quoted back.
 */
import type { Context } from "hono";
import { validator } from "hono/validator";
import * as v from "valibot";
import {
  DURATION_RULE,
  isMaxUses,
  isUuid,
  isValidName,
  labelProblem,
  MAX_MAX_USES,
  MAX_RELAYS,
  NAME_RULE,
  parseDuration,
} from "../domain/fields.ts";
import { parseRelayUrl, RelayUrlError } from "../nostr/relay_url.ts";
import { quote } from "../service/errors.ts";
import { isJsonMediaType } from "./body.ts";
import { ApiError } from "./errors.ts";
import type { AppEnv } from "./types.ts";

// ---- field schemas -------------------------------------------------------------------------

/** A required string of 1 to `max` characters, never quoted in errors (it may be secret). */
// deno-lint-ignore explicit-module-boundary-types -- valibot's pipe type, inferred
export function text(max: number) {
  return v.pipe(
    v.string(mustBe("a string")),
    v.minLength(1, "must not be empty"),
    v.maxLength(max, `must be at most ${max} characters`),
  );
}

/** A key or policy name. */
export const nameSchema = v.pipe(
  v.string(mustBe("a string")),
  v.check(
    (name: string) => isValidName(name),
    (issue) => `${quote(issue.input)} is not a valid name: ${NAME_RULE}`,
  ),
);

/** A relay URL, returned normalized. */
export const relayUrlSchema = v.pipe(
  v.string(mustBe("a string")),
  v.rawTransform(({ dataset, addIssue, NEVER }) => {
    try {
      return parseRelayUrl(dataset.value);
    } catch (error: unknown) {
      if (!(error instanceof RelayUrlError)) throw error;
      addIssue({ message: `cannot use relay URL ${quote(dataset.value, 200)}: ${error.problem}` });
      return NEVER;
    }
  }),
);

/** Up to {@link MAX_RELAYS} relay URLs, normalized and deduplicated; null or absent → `[]`. */
export const relaysSchema = v.optional(
  v.pipe(
    v.nullable(
      v.pipe(
        v.array(relayUrlSchema, mustBe("an array")),
        v.maxLength(
          MAX_RELAYS,
          (issue) => `has ${issue.input.length} entries, the limit is ${MAX_RELAYS}`,
        ),
      ),
    ),
    v.transform((relays): string[] => [...new Set(relays ?? [])]),
  ),
  null,
);

/** A duration in seconds (a number, or text like `45m`, `30d`); null or absent → null. */
export const durationSchema = v.optional(
  v.pipe(
    v.nullable(v.union([v.number(), v.string()], mustBe("a number or a string"))),
    v.rawTransform<number | string | null, number | null>(({ dataset, addIssue, NEVER }) => {
      if (dataset.value === null) return null;
      const seconds = parseDuration(dataset.value);
      if (seconds !== undefined) return seconds;
      addIssue({ message: `${quote(dataset.value)} is not ${DURATION_RULE}` });
      return NEVER;
    }),
  ),
  null,
);

/** `max_uses`: absent → 1, null → no limit, else a whole number from 1 to 1,000,000. */
export const maxUsesSchema = v.optional(
  v.pipe(
    v.unknown(),
    v.rawTransform<unknown, number | null>(({ dataset, addIssue, NEVER }) => {
      if (dataset.value === null) return null;
      if (isMaxUses(dataset.value)) return dataset.value;
      addIssue({
        message: `${
          quote(dataset.value)
        } is not a whole number from 1 to ${MAX_MAX_USES} (null for no limit)`,
      });
      return NEVER;
    }),
  ),
  1,
);

/** A display label; null or absent → null. */
export const labelSchema = v.optional(
  v.pipe(
    v.nullable(v.string(mustBe("a string"))),
    v.rawTransform<string | null, string | null>(({ dataset, addIssue, NEVER }) => {
      if (dataset.value === null) return null;
      const problem = labelProblem(dataset.value);
      if (problem === undefined) return dataset.value;
      addIssue({ message: problem.replace(/^it /, "") });
      return NEVER;
    }),
  ),
  null,
);

/** An optional policy name; null or absent → null. */
export const policyNameSchema = v.optional(
  v.pipe(v.nullable(nameSchema), v.transform((name): string | null => name ?? null)),
  null,
);

/** A boolean query parameter: absent → false; `true`/`1` or `false`/`0`. */
export const booleanQuerySchema = v.pipe(
  v.optional(
    v.picklist(
      ["", "true", "1", "false", "0"],
      (issue) => `${quote(issue.input)} is not true or false`,
    ),
  ),
  v.transform((value) => value === "true" || value === "1"),
);

/** An object with exactly these fields; missing required ones and unknown ones are named. */
// deno-lint-ignore explicit-module-boundary-types -- valibot's object type, inferred from `entries`
export function fields<const E extends v.ObjectEntries>(entries: E) {
  const allowed = Object.keys(entries).join(", ");
  return v.strictObject(entries, (issue) => {
    if (issue.expected === "never") return `unknown field, expected one of ${allowed}`;
    if (issue.received === "undefined") return "is required";
    return `must be an object, got ${describe(issue.input)}`;
  });
}

// ---- middleware ----------------------------------------------------------------------------

/**
 * Validates the JSON body against `schema` (the body must be a JSON object sent as
 * `application/json`); the handler reads the output with `c.req.valid("json")`.
 */
// deno-lint-ignore explicit-module-boundary-types -- the type is Hono's, inferred from `schema`
export function jsonBody<S extends v.GenericSchema>(schema: S) {
  return validator("json", (value, c: Context<AppEnv>) => {
    if (c.var.rawBody.byteLength === 0) {
      throw new ApiError(400, "Request body is empty: expected a JSON object");
    }
    if (!isJsonMediaType(c.req.header("content-type"))) {
      throw new ApiError(415, "Request body must be sent as Content-Type: application/json");
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      throw new ApiError(400, `Request body must be a JSON object, got ${describe(value)}`);
    }
    return parseWith(schema, value);
  });
}

/** Validates the query string against `schema`; read it with `c.req.valid("query")`. */
// deno-lint-ignore explicit-module-boundary-types -- the type is Hono's, inferred from `schema`
export function queryParams<S extends v.GenericSchema>(schema: S) {
  return validator("query", (value) => parseWith(schema, value));
}

/** A UUID path parameter, lowercased; 400 naming `what` when malformed, before any query. */
export function uuidParam(value: string, what: string): string {
  if (!isUuid(value)) {
    throw new ApiError(400, `Cannot use ${what} id ${quote(value)}: it is not a UUID`);
  }
  return value.toLowerCase();
}

/** A name path parameter; 400 naming `what` when malformed, before any query. */
export function nameParam(value: string, what: string): string {
  if (!isValidName(value)) {
    throw new ApiError(400, `Cannot use ${what} name ${quote(value)}: it is not a valid name`);
  }
  return value;
}

/** The output of `schema` for `value`, or a 400 naming the first problem's field. */
export function parseWith<S extends v.GenericSchema>(schema: S, value: unknown): v.InferOutput<S> {
  const result = v.safeParse(schema, value);
  if (result.success) return result.output;
  // An unknown field is reported before a missing one: it is usually the typo behind both.
  const issue = result.issues.find((i) => i.expected === "never") ?? result.issues[0];
  const field = pathOf(issue.path);
  const message = field === "" ? issue.message : `${field}: ${issue.message}`;
  throw new ApiError(400, message, field === "" ? {} : { field });
}

/** `relays[1].url`-style path of an issue. */
function pathOf(path: readonly { key: unknown }[] | undefined): string {
  let out = "";
  for (const { key } of path ?? []) {
    out += typeof key === "number" ? `[${key}]` : out === "" ? String(key) : `.${String(key)}`;
  }
  return out;
}

function mustBe(what: string) {
  return (issue: { input: unknown }) => `must be ${what}, got ${describe(issue.input)}`;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  return Array.isArray(value) ? "an array" : typeof value;
}
