/**
 * Request bodies: read once, size-capped (by `Content-Length` first, then while streaming) and
 * time-limited, kept as bytes in `c.var.rawBody` (NIP-98 hashes them), parsed as JSON on demand.
 */
import type { Context, MiddlewareHandler } from "hono";
import { deadline, TimeoutError } from "../util/async.ts";
import { ApiError } from "./errors.ts";
import type { AppEnv } from "./types.ts";

const EMPTY = new Uint8Array(0);

/** Reads the body into `c.var.rawBody`; 413 past `maxBytes`, 408 past `timeoutMs`. */
export function bodyMiddleware(maxBytes: number, timeoutMs: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const declared = c.req.header("content-length");
    if (declared !== undefined) {
      if (!/^\d{1,15}$/.test(declared.trim())) {
        throw new ApiError(400, `Cannot read request body: Content-Length ${quoteShort(declared)}`);
      }
      if (Number(declared) > maxBytes) throw tooLarge(maxBytes);
    }
    const stream = c.req.raw.body;
    c.set("rawBody", stream ? await readCapped(stream, maxBytes, timeoutMs) : EMPTY);
    await next();
  };
}

async function readCapped(
  stream: ReadableStream<Uint8Array>,
  maxBytes: number,
  timeoutMs: number,
): Promise<Uint8Array> {
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  const until = performance.now() + timeoutMs;
  let size = 0;
  try {
    for (;;) {
      const left = Math.max(0, until - performance.now());
      const { done, value } = await deadline(reader.read(), left);
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) throw tooLarge(maxBytes);
      chunks.push(value);
    }
  } catch (err: unknown) {
    await reader.cancel().catch(() => undefined);
    if (err instanceof TimeoutError) {
      throw new ApiError(408, `Cannot read request body: it took longer than ${timeoutMs} ms`);
    }
    throw err;
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(413, `Request body is too large: the limit is ${maxBytes} bytes`);
}

function quoteShort(value: string): string {
  return JSON.stringify(value.slice(0, 32));
}

/**
 * The body as a JSON object. 400 when it is empty, not UTF-8, not JSON (with the position of the
 * syntax error, never the text around it: the body may hold a secret) or not an object.
 */
export function readJsonObject(c: Context<AppEnv>): Record<string, unknown> {
  const raw = c.var.rawBody;
  if (raw.byteLength === 0) {
    throw new ApiError(400, "Request body is empty: expected a JSON object");
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch (_err: unknown) {
    throw new ApiError(400, "Cannot parse request body: it is not valid UTF-8");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err: unknown) {
    throw new ApiError(400, `Cannot parse request body as JSON: ${jsonProblem(err)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    const kind = value === null ? "null" : Array.isArray(value) ? "an array" : typeof value;
    throw new ApiError(400, `Request body must be a JSON object, got ${kind}`);
  }
  return value as Record<string, unknown>;
}

/** The parser's complaint, unless it may quote the body (V8 quotes snippets in double quotes). */
function jsonProblem(err: unknown): string {
  const message = err instanceof Error ? err.message : "";
  if (message !== "" && !message.includes('"')) return message;
  const position = /position (\d+)/.exec(message)?.[1];
  return position === undefined ? "syntax error" : `syntax error at position ${position}`;
}
