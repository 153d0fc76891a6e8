/**
 * QR codes for showing a `bunker://` URL in a terminal: `@paulmillr/qr` encodes the text (byte
 * mode, versions 1–13, so the symbol with its quiet zone fits an 80-column terminal) and
 * {@link renderQr} draws two module rows per text line with half-block characters.
 */
import { encodeQR, utils } from "@paulmillr/qr";

/** Error correction level: "low" restores about 7% of the codewords, "medium" about 15%. */
export type QrEcc = "low" | "medium";

/** An encoded QR symbol. */
export interface QrCode {
  /** Version 1–13; the symbol is `4 * version + 17` modules wide. */
  version: number;
  /** Error correction level used. */
  ecc: QrEcc;
  /** Modules per side. */
  size: number;
  /** `modules[row][col]`, true for a dark module. */
  modules: boolean[][];
}

/** Options of {@link encodeQr}. */
export interface QrOptions {
  /** Level to use; default "medium" when the text fits in version 13 at that level, else "low". */
  ecc?: QrEcc;
}

/** Largest version encoded: 69 modules wide, 77 columns with the default quiet zone of 4. */
export const MAX_QR_VERSION = 13;

/** Encodes the UTF-8 bytes of `text` in the smallest symbol up to version 13; RangeError if none. */
export function encodeQr(text: string, options: QrOptions = {}): QrCode {
  const length = new TextEncoder().encode(text).length;
  const levels: QrEcc[] = options.ecc ? [options.ecc] : ["medium", "low"];
  for (const ecc of levels) {
    for (let version = 1; version <= MAX_QR_VERSION; version++) {
      if (byteCapacity(version, ecc) < length) continue;
      const modules = encodeQR(text, "raw", { ecc, version, encoding: "byte", border: 0 });
      return { version, ecc, size: modules.length, modules };
    }
  }
  const last = levels.at(-1)!;
  throw new RangeError(
    `Cannot encode ${length} bytes in a QR code: the limit at level ${last} is ` +
      byteCapacity(MAX_QR_VERSION, last),
  );
}

/** Data bytes a byte-mode symbol holds after its 4-bit mode indicator and length field. */
function byteCapacity(version: number, ecc: QrEcc): number {
  const { capacity } = utils.info.capacity(version, ecc); // in bits
  return Math.floor((capacity - 4 - utils.info.lengthBits(version, "byte")) / 8);
}

/** Options of {@link renderQr}. */
export interface RenderOptions {
  /** Light border around the symbol, in modules. Default 4 (the standard's quiet zone). */
  quietZone?: number;
  /** Draw for a light-background terminal (block characters are dark). Default false. */
  invert?: boolean;
}

/**
 * Draws `code` as text, two module rows per line (`▀`, `▄`, `█`, space), every line equally wide.
 * Default (for light text on a dark background): dark modules are spaces, showing the terminal's
 * dark background, and light modules and the quiet zone are block characters in the light
 * foreground colour. With `invert` (for dark text on a light background): dark modules are block
 * characters and light modules and the quiet zone are spaces. A half line below an odd number of
 * rows is always a space.
 */
export function renderQr(code: QrCode, options: RenderOptions = {}): string {
  const quiet = options.quietZone ?? 4;
  if (!Number.isSafeInteger(quiet) || quiet < 0) {
    throw new RangeError(`Cannot use a quiet zone of ${quiet} modules: it must be 0 or more`);
  }
  const span = code.size + 2 * quiet;
  const painted = (row: number, col: number): boolean => {
    if (row >= span) return false; // below the last row: terminal background
    const r = row - quiet;
    const c = col - quiet;
    const dark = r >= 0 && c >= 0 && r < code.size && c < code.size && code.modules[r]![c]!;
    return options.invert ? dark : !dark;
  };
  const glyphs = [" ", "▄", "▀", "█"];
  const lines: string[] = [];
  for (let row = 0; row < span; row += 2) {
    let line = "";
    for (let col = 0; col < span; col++) {
      line += glyphs[(painted(row, col) ? 2 : 0) + (painted(row + 1, col) ? 1 : 0)];
    }
    lines.push(line);
  }
  return lines.join("\n") + "\n";
}
