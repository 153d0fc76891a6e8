/** The keycast release; `deno.json` carries the same number. */
export const VERSION = "0.1.0";
