/**
 * Validation of a policy document (the format is documented in `document.ts`): every problem at
 * once, sizes capped, patterns compiled once.
 */
import { MAX_FUTURE_SECONDS_LIMIT } from "./created_at_rule.ts";
import type { KindSpec, PolicyDocument } from "./document.ts";
import { isDangerousKind, isKind } from "./kinds.ts";
import { isNip46Method } from "../nostr/nip46.ts";
import type { Pattern } from "./pattern.ts";
import { arrayOf, isObject, problem, ROOT, unknownFields } from "./problems.ts";
import { validateContent, validateRateLimits } from "./validate_parts.ts";

/** A valid document and its compiled patterns, or every problem found. */
export type ValidationResult =
  | { ok: true; policy: PolicyDocument; patterns: Pattern[] }
  | { ok: false; problems: string[] };

const FIELDS = [
  "methods",
  "kinds",
  "allow_dangerous_kinds",
  "content",
  "encrypt_to_self",
  "counterparties",
  "rate_limits",
  "max_future_seconds",
];
const MAX_METHODS = 32;
const MAX_KINDS = 1000;
const MAX_COUNTERPARTIES = 1000;
const KIND_HINT = "a kind is an integer 0–65535 or a [from, to] range";
const HEX64 = /^[0-9a-fA-F]{64}$/;

/** Validates `doc` as a policy document. */
export function validatePolicyDocument(doc: unknown): ValidationResult {
  if (!isObject(doc)) {
    return { ok: false, problems: [problem(ROOT, doc, "a policy document is a JSON object")] };
  }
  const problems = unknownFields(ROOT, doc, FIELDS);
  if (doc.methods !== undefined) checkMethods(doc.methods, problems);
  const optedIn = doc.allow_dangerous_kinds === undefined
    ? []
    : checkDangerousOptIn(doc.allow_dangerous_kinds, problems);
  if (doc.kinds !== undefined) checkKinds(doc.kinds, optedIn, problems);
  const patterns = doc.content === undefined ? [] : validateContent(doc.content, problems);
  if (doc.encrypt_to_self !== undefined && typeof doc.encrypt_to_self !== "boolean") {
    problems.push(
      problem(`${ROOT}.encrypt_to_self`, doc.encrypt_to_self, "expected true or false"),
    );
  }
  if (doc.counterparties !== undefined) checkCounterparties(doc.counterparties, problems);
  if (doc.rate_limits !== undefined) validateRateLimits(doc.rate_limits, problems);
  if (doc.max_future_seconds !== undefined) checkMaxFuture(doc.max_future_seconds, problems);
  return problems.length > 0
    ? { ok: false, problems }
    : { ok: true, policy: doc as PolicyDocument, patterns };
}

function checkMethods(value: unknown, problems: string[]): void {
  const path = `${ROOT}.methods`;
  arrayOf(path, value, MAX_METHODS, problems)?.forEach((method, i) => {
    if (!isNip46Method(method)) {
      problems.push(problem(`${path}[${i}]`, method, "not a NIP-46 method keycast knows"));
    }
  });
}

function checkDangerousOptIn(value: unknown, problems: string[]): number[] {
  const path = `${ROOT}.allow_dangerous_kinds`;
  const kinds: number[] = [];
  arrayOf(path, value, MAX_KINDS, problems)?.forEach((kind, i) => {
    if (isKind(kind)) kinds.push(kind);
    else problems.push(problem(`${path}[${i}]`, kind, "a kind is an integer 0–65535"));
  });
  return kinds;
}

function checkKinds(value: unknown, optedIn: number[], problems: string[]): void {
  const path = `${ROOT}.kinds`;
  arrayOf(path, value, MAX_KINDS, problems)?.forEach((spec, i) => {
    if (!isKindSpec(spec)) {
      problems.push(problem(`${path}[${i}]`, spec, KIND_HINT));
    } else if (typeof spec === "number" && isDangerousKind(spec) && !optedIn.includes(spec)) {
      problems.push(
        problem(`${path}[${i}]`, spec, "a dangerous kind; list it in allow_dangerous_kinds too"),
      );
    }
  });
}

function isKindSpec(spec: unknown): spec is KindSpec {
  if (isKind(spec)) return true;
  return Array.isArray(spec) && spec.length === 2 && isKind(spec[0]) && isKind(spec[1]) &&
    spec[0] <= spec[1];
}

function checkMaxFuture(value: unknown, problems: string[]): void {
  if (
    !Number.isInteger(value) || (value as number) < 0 ||
    (value as number) > MAX_FUTURE_SECONDS_LIMIT
  ) {
    const why = `expected an integer number of seconds 0–${MAX_FUTURE_SECONDS_LIMIT}`;
    problems.push(problem(`${ROOT}.max_future_seconds`, value, why));
  }
}

function checkCounterparties(value: unknown, problems: string[]): void {
  const path = `${ROOT}.counterparties`;
  arrayOf(path, value, MAX_COUNTERPARTIES, problems)?.forEach((pubkey, i) => {
    if (typeof pubkey !== "string" || !HEX64.test(pubkey)) {
      problems.push(problem(`${path}[${i}]`, pubkey, "a pubkey is 64 hex characters"));
    }
  });
}
