import assert from "node:assert/strict";
import { typeKeys } from "./hidden_input.ts";

Deno.test("typeKeys() ends the line at Enter, whether the terminal sends CR or LF", () => {
  assert.deepEqual(typeKeys("", "hunter2\r"), { kind: "done", line: "hunter2" });
  assert.deepEqual(typeKeys("hun", "ter2\nrest"), { kind: "done", line: "hunter2" });
  assert.deepEqual(typeKeys("", "pässwörd "), { kind: "more", line: "pässwörd " });
});

Deno.test("typeKeys() edits with Backspace and Ctrl-U, by character", () => {
  assert.deepEqual(typeKeys("abc", "\x7f\x7fd"), { kind: "more", line: "ad" });
  assert.deepEqual(typeKeys("🔑x", "\b\b"), { kind: "more", line: "" });
  assert.deepEqual(typeKeys("", "\x7f"), { kind: "more", line: "" });
  assert.deepEqual(typeKeys("wrong", "\x15right\r"), { kind: "done", line: "right" });
});

Deno.test("typeKeys() cancels on Ctrl-C, and on Ctrl-D only when the line is empty", () => {
  assert.deepEqual(typeKeys("abc", "\x03"), { kind: "cancelled" });
  assert.deepEqual(typeKeys("", "\x04"), { kind: "cancelled" });
  assert.deepEqual(typeKeys("abc", "\x04"), { kind: "more", line: "abc" });
});

Deno.test("typeKeys() drops escape sequences and other control characters", () => {
  assert.deepEqual(typeKeys("", "a\x1b[Ab\x1b[1;5Cc\x1bOPd\te\x00f"), {
    kind: "more",
    line: "abcdef",
  });
  assert.deepEqual(typeKeys("", "\x1b"), { kind: "more", line: "" });
  assert.deepEqual(typeKeys("", "\x1b[1;"), { kind: "more", line: "" });
});
