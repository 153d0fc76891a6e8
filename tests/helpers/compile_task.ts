/**
 * Reads the `compile` task from deno.json and finds what a compiled binary must embed: worker
 * modules, migrations, and every file or directory that source code reaches through
 * `new URL("<literal>", import.meta.url)` (deno compile only embeds the module graph, so anything
 * read or spawned by URL needs an `--include`).
 */

/** Root of the repository, as a directory URL. */
export const REPO_ROOT = new URL("../../", import.meta.url);

/** A `new URL("<literal>", import.meta.url)` found in a source file. */
export interface AssetReference {
  /** Repository-relative path of the file holding the reference, e.g. `src/db/migrate.ts`. */
  file: string;
  /** The literal, e.g. `../../migrations/`. */
  literal: string;
  /** Repository-relative path it resolves to, without a trailing slash, e.g. `migrations`. */
  target: string;
  /** Whether the URL is the first argument of `new Worker(…)`. */
  worker: boolean;
}

const URL_PATTERN =
  /(new\s+Worker\(\s*)?new\s+URL\(\s*(["'])([^"'\n]+)\2\s*,\s*import\.meta\.url\s*\)/g;

/** The `compile` task's command line from deno.json; throws when there is none. */
export async function readCompileTask(root: URL = REPO_ROOT): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))) as {
    tasks?: Record<string, string>;
  };
  const task = config.tasks?.compile;
  if (typeof task !== "string") throw new Error('Cannot find a "compile" task in deno.json');
  return task;
}

/** Every path given to `--include` (`--include a`, `--include=a`, comma lists), normalized. */
export function compileIncludes(task: string): string[] {
  const words = task.split(/\s+/).filter((word) => word.length > 0);
  const includes: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    let value: string | undefined;
    if (word === "--include") value = words[++i];
    else if (word.startsWith("--include=")) value = word.slice("--include=".length);
    if (value === undefined) continue;
    includes.push(...value.split(",").filter((part) => part.length > 0).map(normalize));
  }
  return includes;
}

/** Whether `path` is one of `includes` or lies inside an included directory. */
export function isIncluded(path: string, includes: readonly string[]): boolean {
  const wanted = normalize(path);
  return includes.some((include) => wanted === include || wanted.startsWith(`${include}/`));
}

/** The paths among `paths` that no include covers. */
export function uncovered(paths: readonly string[], includes: readonly string[]): string[] {
  return paths.filter((path) => !isIncluded(path, includes));
}

/** Repository-relative paths of every file under `dir` (recursively), sorted. */
export async function listFiles(dir: string, root: URL = REPO_ROOT): Promise<string[]> {
  const files: string[] = [];
  const walk = async (relative: string) => {
    for await (const entry of Deno.readDir(new URL(`${relative}/`, root))) {
      const path = `${relative}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile) files.push(path);
    }
  };
  await walk(normalize(dir));
  return files.sort();
}

/**
 * Every `import.meta.url`-relative reference in the non-test TypeScript files under `dir` (test
 * fixtures under a `testdata/` folder are never compiled in).
 */
export async function findAssetReferences(
  dir = "src",
  root: URL = REPO_ROOT,
): Promise<AssetReference[]> {
  const references: AssetReference[] = [];
  for (const file of await listFiles(dir, root)) {
    if (!file.endsWith(".ts") || /\.(test|bench)\.ts$|(^|\/)testdata\//.test(file)) continue;
    const source = await Deno.readTextFile(new URL(file, root));
    references.push(...referencesIn(file, source, root));
  }
  return references;
}

/**
 * The references in one file's source text. Lines that are comments (`//`, `/*`, `*`) are skipped,
 * so documentation may show the pattern.
 */
export function referencesIn(
  file: string,
  source: string,
  root: URL = REPO_ROOT,
): AssetReference[] {
  const code = source.split("\n").filter((line) => !/^\s*(\/\/|\/\*|\*)/.test(line)).join("\n");
  const references: AssetReference[] = [];
  for (const match of code.matchAll(URL_PATTERN)) {
    const literal = match[3]!;
    const resolved = new URL(literal, new URL(file, root));
    if (!resolved.href.startsWith(root.href)) {
      throw new Error(
        `Cannot embed "${literal}" from "${file}": it resolves outside the repository`,
      );
    }
    const target = normalize(decodeURIComponent(resolved.href.slice(root.href.length)));
    references.push({ file, literal, target, worker: match[1] !== undefined });
  }
  return references;
}

function normalize(path: string): string {
  return path.replace(/^(\.\/)+/, "").replace(/\/+$/, "");
}
