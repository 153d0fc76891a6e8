import assert from "node:assert/strict";
import { decodeQR } from "@paulmillr/qr/decode.js";
import { encodeQr, renderQr } from "./qr.ts";

const BUNKER_URL = "bunker://3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d" +
  "?relay=wss%3A%2F%2Frelay.example.com&relay=wss%3A%2F%2Fnos.lol&secret=" + "a5".repeat(32);

/** Colours of a terminal: `fg` paints the block characters, `bg` shows through spaces. */
interface Terminal {
  fg: readonly [number, number, number];
  bg: readonly [number, number, number];
}
const DARK_TERMINAL: Terminal = { fg: [208, 208, 208], bg: [28, 28, 28] };
const LIGHT_TERMINAL: Terminal = { fg: [28, 28, 28], bg: [255, 255, 255] };

/**
 * Reads a rendering back into modules, quiet zone included (true for dark): each line holds two
 * rows, a glyph's top half is painted by `▀`/`█` and its bottom half by `▄`/`█`, and painted
 * cells are dark only in the inverted (light-terminal) mode.
 */
function parseRendering(text: string, invert: boolean): boolean[][] {
  assert.ok(text.endsWith("\n"));
  const lines = text.slice(0, -1).split("\n");
  const span = lines[0]!.length;
  const rows: boolean[][] = [];
  for (const line of lines) {
    const glyphs = [...line];
    assert.equal(glyphs.length, span, "every line has the same width");
    assert.ok(glyphs.every((glyph) => " ▀▄█".includes(glyph)), `unexpected glyph in ${line}`);
    rows.push(glyphs.map((glyph) => (glyph === "▀" || glyph === "█") === invert));
    rows.push(glyphs.map((glyph) => (glyph === "▄" || glyph === "█") === invert));
  }
  return rows.slice(0, span); // an odd span leaves a half row of terminal background
}

/** Checks that the outer `quiet` modules are light and returns the symbol inside them. */
function stripQuietZone(grid: boolean[][], quiet: number): boolean[][] {
  const size = grid.length - 2 * quiet;
  grid.forEach((row, r) => {
    assert.equal(row.length, grid.length, "the rendering is square");
    row.forEach((dark, c) => {
      const inside = r >= quiet && c >= quiet && r < quiet + size && c < quiet + size;
      assert.ok(inside || !dark, `quiet zone module ${r},${c} is dark`);
    });
  });
  return grid.slice(quiet, quiet + size).map((row) => row.slice(quiet, quiet + size));
}

/**
 * An RGBA image of `modules` as `terminal` shows them (8 px per module, a 4-module quiet zone in
 * the light colour): dark modules take the colour of spaces in dark-terminal mode and of block
 * characters in light-terminal mode.
 */
function toImage(modules: boolean[][], terminal: Terminal, invert: boolean) {
  const scale = 8;
  const quiet = 4;
  const dark = invert ? terminal.fg : terminal.bg;
  const light = invert ? terminal.bg : terminal.fg;
  const width = (modules.length + 2 * quiet) * scale;
  const data = new Uint8Array(width * width * 4);
  for (let y = 0; y < width; y++) {
    for (let x = 0; x < width; x++) {
      const r = Math.floor(y / scale) - quiet;
      const c = Math.floor(x / scale) - quiet;
      const isDark = modules[r]?.[c] ?? false;
      data.set([...(isDark ? dark : light), 255], (y * width + x) * 4);
    }
  }
  return { width, height: width, data };
}

Deno.test("renderQr() output decodes back to the URL in dark-terminal mode", () => {
  const code = encodeQr(BUNKER_URL);
  const modules = stripQuietZone(parseRendering(renderQr(code), false), 4);
  assert.deepEqual(modules, code.modules);
  assert.equal(decodeQR(toImage(modules, DARK_TERMINAL, false)), BUNKER_URL);
});

Deno.test("renderQr() output decodes back to the URL in light-terminal (inverted) mode", () => {
  const code = encodeQr(BUNKER_URL);
  const modules = stripQuietZone(parseRendering(renderQr(code, { invert: true }), true), 4);
  assert.deepEqual(modules, code.modules);
  assert.equal(decodeQR(toImage(modules, LIGHT_TERMINAL, true)), BUNKER_URL);
});

/** An RGBA image of `text` as `terminal` shows it, 8 px per module (4 px per half-block glyph). */
function screenshot(text: string, terminal: Terminal) {
  const scale = 8;
  const lines = text.slice(0, -1).split("\n").map((line) => [...line]);
  const width = lines[0]!.length * scale;
  const height = lines.length * 2 * scale;
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const glyph = lines[Math.floor(y / (2 * scale))]![Math.floor(x / scale)]!;
      const top = Math.floor(y / scale) % 2 === 0;
      const painted = glyph === "█" || glyph === (top ? "▀" : "▄");
      data.set([...(painted ? terminal.fg : terminal.bg), 255], (y * width + x) * 4);
    }
  }
  return { width, height, data };
}

Deno.test("renderQr() output scans only on the terminal its mode is meant for", () => {
  const code = encodeQr(BUNKER_URL);
  const dark = renderQr(code);
  const light = renderQr(code, { invert: true });
  assert.equal(decodeQR(screenshot(dark, DARK_TERMINAL)), BUNKER_URL);
  assert.equal(decodeQR(screenshot(light, LIGHT_TERMINAL)), BUNKER_URL);
  assert.throws(() => decodeQR(screenshot(dark, LIGHT_TERMINAL)));
  assert.throws(() => decodeQR(screenshot(light, DARK_TERMINAL)));
});

Deno.test("renderQr() draws equally wide lines around a 4-module quiet zone in both modes", () => {
  const code = encodeQr(BUNKER_URL);
  const span = code.size + 8;
  for (const invert of [false, true]) {
    const quietGlyph = invert ? " " : "█";
    const lines = renderQr(code, { invert }).split("\n");
    assert.equal(lines.pop(), "", "the text ends with a newline");
    assert.equal(lines.length, Math.ceil(span / 2));
    assert.ok(lines.every((line) => line.length === span), "every line has the same width");
    for (const line of lines.slice(0, -1)) {
      assert.ok(line.startsWith(quietGlyph.repeat(4)) && line.endsWith(quietGlyph.repeat(4)));
    }
    assert.deepEqual(lines.slice(0, 2), [quietGlyph.repeat(span), quietGlyph.repeat(span)]);
    // The odd last row is the quiet zone's bottom row; the half below it is terminal background.
    assert.equal(lines.at(-1), (invert ? " " : "▀").repeat(span));
  }
});

Deno.test("renderQr() honours another quiet zone and rejects a negative one", () => {
  const code = encodeQr("keycast");
  const text = renderQr(code, { quietZone: 1 });
  assert.deepEqual(stripQuietZone(parseRendering(text, false), 1), code.modules);
  assert.deepEqual(renderQr(code, { quietZone: 0, invert: true }).split("\n")[0]!.length, 21);
  assert.throws(() => renderQr(code, { quietZone: -1 }), RangeError);
});

Deno.test("encodeQr() prefers level medium up to version 13, then low", () => {
  const pick = (bytes: number) => {
    const code = encodeQr("x".repeat(bytes));
    assert.equal(code.size, 4 * code.version + 17);
    assert.equal(code.modules.length, code.size);
    return `${code.version}-${code.ecc}`;
  };
  assert.equal(pick(0), "1-medium");
  assert.equal(pick(14), "1-medium");
  assert.equal(pick(15), "2-medium");
  assert.equal(pick(331), "13-medium");
  assert.equal(pick(332), "12-low");
  assert.equal(pick(425), "13-low");
  assert.equal(`${encodeQr(BUNKER_URL).version}-${encodeQr(BUNKER_URL).ecc}`, "10-medium");
  assert.equal(encodeQr("x".repeat(20), { ecc: "low" }).version, 2);
  assert.equal(encodeQr("é".repeat(7)).version, 1, "counts UTF-8 bytes, not characters");
  assert.equal(encodeQr("é".repeat(8)).version, 2);
});

Deno.test("encodeQr() throws RangeError for text too long for version 13, without echoing it", () => {
  const secret = "s".repeat(426);
  assert.throws(() => encodeQr(secret), (err: unknown) => {
    assert.ok(err instanceof RangeError);
    assert.match(err.message, /426 bytes.*limit at level low is 425/);
    assert.ok(!err.message.includes("sss"));
    return true;
  });
  assert.throws(
    () => encodeQr("x".repeat(332), { ecc: "medium" }),
    (err: unknown) => err instanceof RangeError && /limit at level medium is 331/.test(err.message),
  );
});
