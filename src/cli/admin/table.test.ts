import assert from "node:assert/strict";
import { cleanCell, formatTable } from "./table.ts";

Deno.test("cleanCell() shows control and bidirectional-control characters as ?", () => {
  assert.equal(cleanCell("a\nb\x1b[2Jc\x7f"), "a?b?[2Jc?");
  assert.equal(cleanCell("key\u202egnp.exe"), "key?gnp.exe");
  assert.equal(cleanCell("\u2066x\u2069\u200e\u200f\u061c"), "?x????");
  assert.equal(cleanCell("Zoë 🔑 中文"), "Zoë 🔑 中文", "other text is kept");
});

Deno.test("formatTable() cleans every cell but not the headers", () => {
  assert.equal(formatTable(["name"], [["\u202eevil"]]), "NAME\n?evil\n");
});
