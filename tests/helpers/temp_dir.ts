/** Temporary directories for tests, removed when disposed. */

/** A fresh temp dir named `<prefix>…`, removed (with everything in it) when disposed. */
export async function tempDir(prefix: string): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}
