/**
 * Request bodies: read once, size-capped (by `Content-Length` first, then while streaming) and
 * time-limited, kept as bytes in `c.var.rawBody` (NIP-98 hashes them). A body sent as JSON is
 * parsed here, once, with errors that never quote it, and handed to Hono's `c.req.json()` (so
 * its validator) through the request's body cache.
 */
import type { MiddlewareHandler } from "hono";
import { deadline, TimeoutError } from "../util/async.ts";
import { ApiError } from "./errors.ts";
import type { AppEnv } from "./types.ts";

const EMPTY = new Uint8Array(0);

/**
 * Whether {@link bodyMiddleware} reads the body of a `method` request to `path`: every `/api`
 * request, and the web pages' form posts (`POST` to a path `formPaths` matches). Nothing else
 * takes a body, so no other request makes the server wait for or buffer one.
 */
export function readsBody(method: string, path: string, formPaths: RegExp): boolean {
  if (path === "/api" || path.startsWith("/api/")) return true;
  return method === "POST" && formPaths.test(path);
}

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
    const raw = stream ? await readCapped(stream, maxBytes, timeoutMs) : EMPTY;
    c.set("rawBody", raw);
    if (raw.byteLength > 0 && isJsonMediaType(c.req.header("content-type"))) {
      c.req.bodyCache.json = Promise.resolve(parseJson(raw));
    }
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
  } catch (error: unknown) {
    await reader.cancel().catch(() => undefined);
    if (error instanceof TimeoutError) {
      throw new ApiError(408, `Cannot read request body: it took longer than ${timeoutMs} ms`);
    }
    throw error;
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

/** Whether a `Content-Type` value is JSON (`application/json`, `application/*+json`). */
export function isJsonMediaType(contentType: string | undefined): boolean {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  return /^application\/([\w.-]+\+)?json$/.test(type);
}

/**
 * The body as JSON. 400 when it is not UTF-8 or not JSON (with the position of the syntax error,
 * never the text around it: the body may hold a secret).
 */
function parseJson(raw: Uint8Array): unknown {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(raw);
  } catch (_error: unknown) {
    throw new ApiError(400, "Cannot parse request body: it is not valid UTF-8");
  }
  try {
    return JSON.parse(text);
  } catch (error: unknown) {
    throw new ApiError(400, `Cannot parse request body as JSON: ${jsonProblem(error)}`);
  }
}

/** The parser's complaint, unless it may quote the body (V8 quotes snippets in double quotes). */
function jsonProblem(err: unknown): string {
  const message = err instanceof Error ? err.message : "";
  if (message !== "" && !message.includes('"')) return message;
  const position = /position (\d+)/.exec(message)?.[1];
  return position === undefined ? "syntax error" : `syntax error at position ${position}`;
}
