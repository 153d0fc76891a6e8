/**
 * Printing for the benchmark scripts: latency percentiles, number formatting and a plain text
 * table. Output goes straight to stdout (these are command-line reports, not logs).
 */

const encoder = new TextEncoder();

/** Writes one line to stdout. */
export function print(line = ""): void {
  const bytes = encoder.encode(`${line}\n`);
  let written = 0;
  while (written < bytes.length) written += Deno.stdout.writeSync(bytes.subarray(written));
}

/** Latency summary of a set of samples, in ms. */
export interface Percentiles {
  /** Number of samples. */
  count: number;
  /** Median, in ms. */
  p50: number;
  /** 95th percentile, in ms. */
  p95: number;
  /** 99th percentile, in ms. */
  p99: number;
  /** Largest sample, in ms. */
  max: number;
}

/** Nearest-rank percentiles of `samples` (ms); NaN everywhere when there are none. */
export function percentiles(samples: readonly number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (p: number) =>
    sorted.length === 0
      ? NaN
      : sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)]!;
  return {
    count: sorted.length,
    p50: rank(0.5),
    p95: rank(0.95),
    p99: rank(0.99),
    max: sorted.length === 0 ? NaN : sorted[sorted.length - 1]!,
  };
}

/** The nearest-rank `p` quantile (0 < p ≤ 1) of `samples` (ms); NaN when there are none. */
export function percentile(samples: readonly number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.max(0, Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1))]!;
}

/** `value` with `digits` decimals, or "n/a" when it is undefined or not finite. */
export function fixed(value: number | undefined, digits = 1): string {
  return value === undefined || !Number.isFinite(value) ? "n/a" : value.toFixed(digits);
}

/** Prints `rows` as an aligned table whose first row is the header. */
export function printTable(rows: readonly (readonly string[])[]): void {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, index) => (widths[index] = Math.max(widths[index] ?? 0, cell.length)));
  }
  const line = (row: readonly string[]) =>
    row.map((cell, index) =>
      index === 0 ? cell.padEnd(widths[index]!) : cell.padStart(widths[index]!)
    )
      .join("  ");
  const [header, ...body] = rows;
  if (!header) return;
  print(line(header));
  print(widths.map((width) => "-".repeat(width)).join("  "));
  for (const row of body) print(line(row));
}
