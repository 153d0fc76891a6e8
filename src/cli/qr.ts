/**
 * A compact QR code encoder (ISO/IEC 18004, model 2) for showing a `bunker://` URL in a terminal:
 * byte mode, error correction level L or M, versions 1–13 (the largest is 69 modules wide, which
 * still fits an 80-column terminal with its quiet zone), Reed–Solomon codewords over GF(256), and
 * the mask chosen by the standard penalty rules N1–N4. {@link renderQr} draws two module rows per
 * text line with half-block characters.
 */

/** Error correction level: L restores about 7% of the codewords, M about 15%. */
export type QrEcLevel = "L" | "M";

/** An encoded QR symbol. */
export interface QrCode {
  /** Version 1–13; the symbol is `4 * version + 17` modules wide. */
  version: number;
  /** Error correction level used. */
  ecLevel: QrEcLevel;
  /** Mask pattern 0–7. */
  mask: number;
  /** Modules per side. */
  size: number;
  /** `modules[row][col]`, true for a dark module. */
  modules: boolean[][];
}

/** Options of {@link encodeQr}. */
export interface QrOptions {
  /** Lowest level to use; M is taken whenever it fits in the same version. Default L. */
  ecLevel?: QrEcLevel;
  /** Forces mask pattern 0–7 instead of the one with the lowest penalty (for tests). */
  mask?: number;
}

/** Largest version encoded. */
export const MAX_QR_VERSION = 13;

/** Per version 1–13: error correction codewords per block, and number of blocks. */
const EC_PER_BLOCK: Record<QrEcLevel, readonly number[]> = {
  L: [7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26],
  M: [10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22],
};
const EC_BLOCKS: Record<QrEcLevel, readonly number[]> = {
  L: [1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4],
  M: [1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9],
};
/** Level bits of the format information. */
const EC_FORMAT_BITS: Record<QrEcLevel, number> = { L: 0b01, M: 0b00 };

/** Encodes the UTF-8 bytes of `text` in the smallest symbol that holds them; RangeError if none. */
export function encodeQr(text: string, options: QrOptions = {}): QrCode {
  const bytes = new TextEncoder().encode(text);
  const mask = options.mask;
  if (mask !== undefined && !(Number.isInteger(mask) && mask >= 0 && mask <= 7)) {
    throw new RangeError(`Cannot use QR mask ${mask}: it must be 0 to 7`);
  }
  let ecLevel = options.ecLevel ?? "L";
  const fits = (version: number, level: QrEcLevel) =>
    dataCapacity(version, level) >= bytesNeeded(bytes.length, version);
  let version = 1;
  while (!fits(version, ecLevel)) {
    if (++version > MAX_QR_VERSION) {
      const limit = dataCapacity(MAX_QR_VERSION, ecLevel) - bytesNeeded(0, MAX_QR_VERSION);
      throw new RangeError(
        `Cannot encode ${bytes.length} bytes in a QR code: the limit at level ${ecLevel} is ${limit}`,
      );
    }
  }
  if (ecLevel === "L" && fits(version, "M")) ecLevel = "M";

  const grid = functionPatterns(version);
  placeData(grid, withErrorCorrection(dataCodewords(bytes, version, ecLevel), version, ecLevel));
  let best: QrCode | undefined;
  let bestPenalty = Infinity;
  for (const candidate of mask === undefined ? [0, 1, 2, 3, 4, 5, 6, 7] : [mask]) {
    const modules = applyMask(grid, candidate, ecLevel);
    const score = penalty(modules);
    if (score < bestPenalty) {
      bestPenalty = score;
      best = { version, ecLevel, mask: candidate, size: modules.length, modules };
    }
  }
  return best!;
}

/** Options of {@link renderQr}. */
export interface RenderOptions {
  /** Light border around the symbol, in modules. Default 4 (the standard's quiet zone). */
  quietZone?: number;
  /** Draw the dark modules with glyphs (for dark-on-light terminals). Default false. */
  darkGlyphs?: boolean;
}

/**
 * Draws `code` as text, two module rows per line (`▀`, `▄`, `█`, space). By default the glyphs
 * paint the light modules and the quiet zone, so the code reads right on the usual terminal with
 * light text on a dark background.
 */
export function renderQr(code: QrCode, options: RenderOptions = {}): string {
  const quiet = options.quietZone ?? 4;
  const span = code.size + 2 * quiet;
  const painted = (row: number, col: number): boolean => {
    if (row >= span) return false; // below the last row: terminal background
    const r = row - quiet;
    const c = col - quiet;
    const dark = r >= 0 && c >= 0 && r < code.size && c < code.size && code.modules[r]![c]!;
    return options.darkGlyphs ? dark : !dark;
  };
  const glyphs = [" ", "▄", "▀", "█"];
  const lines: string[] = [];
  for (let row = 0; row < span; row += 2) {
    let line = "";
    for (let col = 0; col < span; col++) {
      line += glyphs[(painted(row, col) ? 2 : 0) + (painted(row + 1, col) ? 1 : 0)];
    }
    lines.push(line.trimEnd());
  }
  return lines.join("\n") + "\n";
}

// ---- Reed–Solomon over GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1 ----

const GF_EXP = new Uint8Array(512);
const GF_LOG = new Uint8Array(256);
for (let i = 0, x = 1; i < 255; i++) {
  GF_EXP[i] = GF_EXP[i + 255] = x;
  GF_LOG[x] = i;
  x = (x << 1) ^ (x & 0x80 ? 0x11d : 0);
}

function gfMul(a: number, b: number): number {
  return a === 0 || b === 0 ? 0 : GF_EXP[GF_LOG[a]! + GF_LOG[b]!]!;
}

/** The `ecLength` Reed–Solomon codewords of `data` (generator roots α^0 … α^(ecLength-1)). */
export function reedSolomon(data: readonly number[], ecLength: number): number[] {
  let generator = [1]; // coefficients, highest degree first
  for (let i = 0; i < ecLength; i++) {
    const next = [...generator, 0];
    generator.forEach((coef, j) => next[j + 1]! ^= gfMul(coef, GF_EXP[i]!));
    generator = next;
  }
  const remainder = new Array<number>(ecLength).fill(0);
  for (const byte of data) {
    const factor = byte ^ remainder.shift()!;
    remainder.push(0);
    for (let j = 0; j < ecLength; j++) remainder[j]! ^= gfMul(generator[j + 1]!, factor);
  }
  return remainder;
}

// ---- Codewords ----

/** Whole bytes taken by the mode indicator, the count and `length` data bytes. */
function bytesNeeded(length: number, version: number): number {
  return Math.ceil((4 + (version < 10 ? 8 : 16)) / 8) + length;
}

/** Data codewords of a symbol: all its codewords minus the error correction ones. */
function dataCapacity(version: number, ecLevel: QrEcLevel): number {
  const reserved = functionPatterns(version).reserved.flat();
  const total = Math.floor(reserved.filter((isFunction) => !isFunction).length / 8);
  return total - EC_PER_BLOCK[ecLevel][version - 1]! * EC_BLOCKS[ecLevel][version - 1]!;
}

/** The byte-mode bit stream with terminator and pad codewords. */
function dataCodewords(bytes: Uint8Array, version: number, ecLevel: QrEcLevel): number[] {
  const capacity = dataCapacity(version, ecLevel);
  const bits: number[] = [];
  const push = (value: number, length: number) => {
    for (let i = length - 1; i >= 0; i--) bits.push((value >>> i) & 1);
  };
  push(0b0100, 4);
  push(bytes.length, version < 10 ? 8 : 16);
  for (const byte of bytes) push(byte, 8);
  push(0, Math.min(4, capacity * 8 - bits.length));
  push(0, (8 - bits.length % 8) % 8);
  const codewords: number[] = [];
  for (let i = 0; i < bits.length; i += 8) {
    codewords.push(bits.slice(i, i + 8).reduce((acc, bit) => (acc << 1) | bit, 0));
  }
  for (let pad = 0xec; codewords.length < capacity; pad ^= 0xec ^ 0x11) codewords.push(pad);
  return codewords;
}

/** Splits the data into blocks (short ones first), adds their EC codewords, interleaves all. */
function withErrorCorrection(data: number[], version: number, ecLevel: QrEcLevel): number[] {
  const ecLength = EC_PER_BLOCK[ecLevel][version - 1]!;
  const blockCount = EC_BLOCKS[ecLevel][version - 1]!;
  const shortLength = Math.floor(data.length / blockCount);
  const shortBlocks = blockCount - data.length % blockCount;
  const blocks: number[][] = [];
  for (let b = 0, offset = 0; b < blockCount; b++) {
    const length = shortLength + (b < shortBlocks ? 0 : 1);
    blocks.push(data.slice(offset, offset += length));
  }
  const ec = blocks.map((block) => reedSolomon(block, ecLength));
  const out: number[] = [];
  for (let i = 0; i <= shortLength; i++) {
    for (const block of blocks) if (i < block.length) out.push(block[i]!);
  }
  for (let i = 0; i < ecLength; i++) for (const block of ec) out.push(block[i]!);
  return out;
}

// ---- The module matrix ----

/** Modules, and which of them belong to function patterns (never data, never masked). */
interface Grid {
  modules: boolean[][];
  reserved: boolean[][];
}

/** Finder, separator, timing, alignment and version patterns; format areas reserved. */
function functionPatterns(version: number): Grid {
  const size = 4 * version + 17;
  const modules = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  const reserved = Array.from({ length: size }, () => new Array<boolean>(size).fill(false));
  const set = (row: number, col: number, dark: boolean) => {
    if (row < 0 || col < 0 || row >= size || col >= size) return;
    modules[row]![col] = dark;
    reserved[row]![col] = true;
  };
  for (const [top, left] of [[0, 0], [0, size - 7], [size - 7, 0]] as const) {
    for (let dr = -1; dr <= 7; dr++) {
      for (let dc = -1; dc <= 7; dc++) {
        const ring = Math.max(Math.abs(dr - 3), Math.abs(dc - 3)); // 3 = border, 4 = separator
        set(top + dr, left + dc, ring !== 2 && ring !== 4);
      }
    }
  }
  const centres = alignmentCentres(version);
  for (const row of centres) {
    for (const col of centres) {
      if (reserved[row]![col]) continue; // the three corners taken by finders
      for (let dr = -2; dr <= 2; dr++) {
        for (let dc = -2; dc <= 2; dc++) {
          set(row + dr, col + dc, Math.max(Math.abs(dr), Math.abs(dc)) !== 1);
        }
      }
    }
  }
  for (let i = 8; i < size - 8; i++) { // timing patterns (they agree with alignment patterns)
    set(6, i, i % 2 === 0);
    set(i, 6, i % 2 === 0);
  }
  for (const [row, col] of formatCells(size)) set(row, col, false);
  set(size - 8, 8, true); // the dark module
  if (version >= 7) {
    let rem = version; // BCH(18,6) remainder
    for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
    const bits = (version << 12) | rem;
    for (let i = 0; i < 18; i++) {
      const near = Math.floor(i / 3);
      const far = size - 11 + (i % 3);
      set(near, far, ((bits >>> i) & 1) === 1);
      set(far, near, ((bits >>> i) & 1) === 1);
    }
  }
  return { modules, reserved };
}

/** Row and column centres of alignment patterns: 6, then an even step up to `size - 7`. */
function alignmentCentres(version: number): number[] {
  if (version === 1) return [];
  const count = Math.floor(version / 7) + 2;
  const last = 4 * version + 10;
  const step = Math.ceil((last - 6) / (count - 1) / 2) * 2;
  return [6, ...Array.from({ length: count - 1 }, (_, i) => last - (count - 2 - i) * step)];
}

/** [row, col, bit index] of both copies of the 15 format bits. */
function formatCells(size: number): Array<readonly [number, number, number]> {
  const cells: Array<readonly [number, number, number]> = [];
  for (let i = 0; i < 15; i++) {
    // Beside the top-left finder: down column 8 (skipping the timing row), then left along row 8.
    cells.push(i < 6 ? [i, 8, i] : i < 8 ? [i + 1, 8, i] : i === 8 ? [8, 7, i] : [8, 14 - i, i]);
    // Along row 8 at the top right (bits 0–7), then down column 8 at the bottom left.
    cells.push(i < 8 ? [8, size - 1 - i, i] : [size - 15 + i, 8, i]);
  }
  return cells;
}

/** Places codeword bits in the two-column zigzag from the bottom right, skipping column 6. */
function placeData(grid: Grid, codewords: readonly number[]): void {
  const size = grid.modules.length;
  let bit = 0;
  let upward = true;
  for (let right = size - 1; right >= 1; right -= 2) {
    if (right === 6) right = 5;
    for (let step = 0; step < size; step++) {
      const row = upward ? size - 1 - step : step;
      for (const col of [right, right - 1]) {
        if (grid.reserved[row]![col]) continue;
        const byte = codewords[bit >>> 3] ?? 0; // remainder bits are 0
        grid.modules[row]![col] = ((byte >>> (7 - (bit & 7))) & 1) === 1;
        bit++;
      }
    }
    upward = !upward;
  }
}

/** Mask conditions by pattern number (row r, column c): true flips a data module. */
const MASKS: ReadonlyArray<(r: number, c: number) => boolean> = [
  (r, c) => (r + c) % 2 === 0,
  (r) => r % 2 === 0,
  (_, c) => c % 3 === 0,
  (r, c) => (r + c) % 3 === 0,
  (r, c) => (Math.floor(r / 2) + Math.floor(c / 3)) % 2 === 0,
  (r, c) => ((r * c) % 2) + ((r * c) % 3) === 0,
  (r, c) => (((r * c) % 2) + ((r * c) % 3)) % 2 === 0,
  (r, c) => (((r + c) % 2) + ((r * c) % 3)) % 2 === 0,
];

/** A masked copy of the modules with the format bits (level, mask, BCH(15,5), XOR 0x5412). */
function applyMask(grid: Grid, mask: number, ecLevel: QrEcLevel): boolean[][] {
  const flip = MASKS[mask]!;
  const modules = grid.modules.map((line, r) =>
    line.map((dark, c) => grid.reserved[r]![c] ? dark : dark !== flip(r, c))
  );
  const data = (EC_FORMAT_BITS[ecLevel] << 3) | mask;
  let rem = data;
  for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
  const bits = ((data << 10) | rem) ^ 0x5412;
  for (const [row, col, i] of formatCells(modules.length)) {
    modules[row]![col] = ((bits >>> i) & 1) === 1;
  }
  return modules;
}

/** Finder-like runs (1:1:3:1:1 with four light modules on one side) scored by rule N3. */
const FINDER_LIKE = ["10111010000", "00001011101"];

/** The penalty score of a masked symbol (rules N1–N4, inside the symbol); lower reads better. */
function penalty(modules: boolean[][]): number {
  const size = modules.length;
  const rows = modules.map((line) => line.map((dark) => dark ? "1" : "0").join(""));
  const columns = rows.map((_, c) => rows.map((line) => line[c]).join(""));
  let score = 0;
  for (const line of [...rows, ...columns]) {
    for (const run of line.match(/0{5,}|1{5,}/g) ?? []) score += run.length - 2; // N1
    for (const pattern of FINDER_LIKE) {
      for (let i = line.indexOf(pattern); i !== -1; i = line.indexOf(pattern, i + 1)) score += 40;
    }
  }
  for (let r = 0; r + 1 < size; r++) { // N2: 2×2 blocks of one colour
    for (let c = 0; c + 1 < size; c++) {
      const here = rows[r]![c];
      if (here === rows[r]![c + 1] && here === rows[r + 1]![c] && here === rows[r + 1]![c + 1]) {
        score += 3;
      }
    }
  }
  const dark = rows.join("").replaceAll("0", "").length; // N4: balance of dark modules
  const total = size * size;
  return score + 10 * Math.floor(Math.abs(dark * 20 - total * 10) / total);
}
