import assert from "node:assert/strict";
import { encodeQr, type QrCode, reedSolomon, renderQr } from "./qr.ts";

/** Rows of a reference symbol as hex (each row's modules as bits, dark = 1, zero-padded). */
function fromHex(rows: string[], size: number): boolean[][] {
  return rows.map((hex) =>
    [...hex].flatMap((digit) => parseInt(digit, 16).toString(2).padStart(4, "0").split(""))
      .slice(0, size).map((bit) => bit === "1")
  );
}

// Reference symbols made by an independent encoder (npm qrcode@1.5.4, byte mode, its own choice
// of version and mask), checked against our output module by module.
const KEYCAST_1M = [
  "fe73f8",
  "82aa08",
  "ba52e8",
  "ba52e8",
  "baeae8",
  "826a08",
  "feabf8",
  "003800",
  "aa1090",
  "19a318",
  "b3e8f8",
  "95c308",
  "4b0bc0",
  "00d4f8",
  "fe37f8",
  "825c88",
  "baf698",
  "ba42d0",
  "baa9c8",
  "826210",
  "feea98",
];
const BUNKER_URL = "bunker://3bf0c63fcb93463407af97a5e5ee64fa883d107ef9e558472c4eb9aaaefa459d" +
  "?relay=wss%3A%2F%2Frelay.example.com&relay=wss%3A%2F%2Fnos.lol&relay=wss%3A%2F%2Frelay.nsec.app" +
  "&secret=" + "a5".repeat(32);
const BUNKER_10L = [
  "fe7217c78db33f8",
  "82be6da06301208",
  "ba49627ed6ef2e8",
  "bab534a34b112e8",
  "ba22c77e5d7d2e8",
  "82a9f4636e46208",
  "feaaaaaaaaaabf8",
  "0024e12244a8800",
  "fbd9fc3f9d71550",
  "8c4e03c2dc30cb8",
  "2eb05585bb57e80",
  "956c019b91a06f0",
  "72a1cd671816540",
  "e0d421eb09addb8",
  "136da9176ec2770",
  "d114d0c6d4e29a8",
  "cf65bd311c71450",
  "fde242869db8828",
  "56363851fa43e10",
  "5d6b118d80acae8",
  "96ae65f47f11310",
  "dd993a8694ec868",
  "038e29d13b17bf0",
  "9cc5789d11fd8e0",
  "5a80a9460c61300",
  "c505569f1875d68",
  "ffb433be6e03ff0",
  "48a376e2959c8f0",
  "9a85a32b1f64a90",
  "48bf75a2dc308e8",
  "efb6e97e2bd6fa0",
  "d47121b0a739220",
  "e7d3fc0c18024d8",
  "55c803b105f1e68",
  "b22065f53332c70",
  "dd1993bbd4e9670",
  "e74970b22d70490",
  "d164852f1dfc538",
  "fe15f47b6202c78",
  "04e4e14c44a9b20",
  "52e7fc7d9d706c0",
  "24c203c6dc31e58",
  "974e55a3bb56800",
  "b080018180ad370",
  "4baedd0b1c42d80",
  "31582187842c468",
  "a72cf1da7353470",
  "f8a0f164c0edbb8",
  "0288fc3f4d02fd8",
  "00d703a21c398c8",
  "fecdc56be603ab0",
  "824509a290dd8f0",
  "bafc65bf0f27f80",
  "ba851eeb01691e0",
  "bae629977a14e60",
  "82c578d211fdce0",
  "fecaa91e0c60f90",
];

Deno.test("reedSolomon() matches the ISO/IEC 18004 annex example (01234567, 1-M)", () => {
  const data = [16, 32, 12, 86, 97, 128, 236, 17, 236, 17, 236, 17, 236, 17, 236, 17];
  assert.deepEqual(reedSolomon(data, 10), [165, 36, 212, 193, 237, 54, 199, 135, 44, 85]);
});

Deno.test("reedSolomon() matches the HELLO WORLD 1-M tutorial codewords", () => {
  const data = [32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17];
  assert.deepEqual(reedSolomon(data, 10), [196, 35, 39, 119, 235, 215, 231, 226, 93, 23]);
});

Deno.test("encodeQr() builds the reference 1-M symbol, mask included", () => {
  const code = encodeQr("keycast");
  assert.deepEqual([code.version, code.ecLevel, code.mask, code.size], [1, "M", 0, 21]);
  assert.deepEqual(code.modules, fromHex(KEYCAST_1M, 21));
});

Deno.test("encodeQr() builds the reference 10-L symbol of a bunker URL (version info, 4 blocks)", () => {
  const code = encodeQr(BUNKER_URL);
  assert.deepEqual([code.version, code.ecLevel, code.mask, code.size], [10, "L", 2, 57]);
  assert.deepEqual(code.modules, fromHex(BUNKER_10L, 57));
});

Deno.test("encodeQr() picks the smallest version and level M when it fits there", () => {
  const pick = (bytes: number) => {
    const code = encodeQr("x".repeat(bytes));
    return `${code.version}-${code.ecLevel}`;
  };
  assert.equal(pick(0), "1-M");
  assert.equal(pick(14), "1-M");
  assert.equal(pick(17), "1-L");
  assert.equal(pick(18), "2-M");
  assert.equal(pick(230), "9-L");
  assert.equal(pick(231), "10-L");
  assert.equal(pick(425), "13-L");
  assert.equal(encodeQr("x".repeat(213), { ecLevel: "M" }).version, 10);
  assert.equal(encodeQr("x".repeat(214), { ecLevel: "M" }).version, 11);
  assert.equal(encodeQr("é".repeat(9)).version, 2, "counts UTF-8 bytes, not characters");
});

Deno.test("encodeQr() refuses data past version 13 without echoing it", () => {
  const secret = "s".repeat(426);
  assert.throws(() => encodeQr(secret), (err: unknown) => {
    assert.ok(err instanceof RangeError);
    assert.match(err.message, /426 bytes.*limit at level L is 425/);
    assert.ok(!err.message.includes("sss"));
    return true;
  });
  assert.throws(() => encodeQr("x".repeat(332), { ecLevel: "M" }), /limit at level M is 331/);
});

Deno.test("encodeQr() honours a forced mask and rejects a bad one", () => {
  const masks = new Set([0, 1, 2, 3, 4, 5, 6, 7].map((mask) => {
    const code = encodeQr("keycast", { mask });
    assert.equal(code.mask, mask);
    return code.modules.map((row) => row.map(Number).join("")).join("");
  }));
  assert.equal(masks.size, 8);
  assert.throws(() => encodeQr("x", { mask: 8 }), RangeError);
});

/** Reads a rendering back into modules (glyphs paint `painted`). */
function parseRendering(text: string, quiet: number, size: number, painted: boolean): boolean[][] {
  const cells: boolean[][] = [];
  for (const line of text.split("\n").slice(0, -1)) {
    const top: boolean[] = [];
    const bottom: boolean[] = [];
    for (let col = 0; col < size + 2 * quiet; col++) {
      const glyph = line[col] ?? " ";
      top.push((glyph === "▀" || glyph === "█") === painted);
      bottom.push((glyph === "▄" || glyph === "█") === painted);
    }
    cells.push(top, bottom);
  }
  return cells.slice(quiet, quiet + size).map((row) => row.slice(quiet, quiet + size));
}

Deno.test("renderQr() draws two rows per line with a painted quiet zone", () => {
  const code: QrCode = encodeQr("keycast");
  const text = renderQr(code);
  const lines = text.split("\n").slice(0, -1);
  assert.equal(lines.length, Math.ceil((21 + 8) / 2));
  assert.equal(lines[0], "█".repeat(29));
  assert.equal(lines.at(-1), "▀".repeat(29), "the odd last row is the quiet zone's top half");
  assert.deepEqual(parseRendering(text, 4, 21, false), code.modules);
});

Deno.test("renderQr() can paint dark modules instead, with another quiet zone", () => {
  const code = encodeQr(BUNKER_URL);
  const text = renderQr(code, { darkGlyphs: true, quietZone: 2 });
  assert.equal(text.split("\n")[0], "");
  assert.deepEqual(parseRendering(text, 2, 57, true), code.modules);
  assert.ok(text.split("\n").every((line) => line.length <= 61));
});
