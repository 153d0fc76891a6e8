/** Plain-text tables and short timestamps for the list subcommands. */

/** Left-aligned columns separated by two spaces, with an upper-case header row. */
export function formatTable(
  headers: readonly string[],
  rows: ReadonlyArray<readonly string[]>,
): string {
  const cells = [headers.map((h) => h.toUpperCase()), ...rows.map((row) => row.map(cleanCell))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i]?.length ?? 0)));
  return cells
    .map((row) => row.map((cell, i) => cell.padEnd(widths[i]!)).join("  ").trimEnd())
    .join("\n") + "\n";
}

// Control characters (line breaks included) and the bidirectional marks, embeddings, overrides
// and isolates that would reorder what the terminal shows.
const NOT_DISPLAYABLE = /[\p{Cc}\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu;

/**
 * One line of text without control or bidirectional-control characters, each shown as `?`
 * (labels, names and emails come from other people's input).
 */
export function cleanCell(value: string): string {
  return value.replace(NOT_DISPLAYABLE, "?");
}

/** `2025-01-31 14:05` (UTC) from an ISO 8601 time; the input itself when it does not parse. */
export function shortTime(iso: string | null | undefined, fallback = "-"): string {
  if (!iso) return fallback;
  const time = Date.parse(iso);
  return Number.isNaN(time) ? iso : new Date(time).toISOString().slice(0, 16).replace("T", " ");
}
