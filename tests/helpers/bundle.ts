/**
 * Builds keycast with `deno bundle` (which works offline, unlike `deno compile`, whose `denort`
 * base binary must be downloaded) into a temp dir laid out so every `import.meta.url`-relative URL
 * of the bundle resolves:
 *
 *   <root>/dist/bundle/main.js            main.ts and everything it imports, in one file
 *   <root>/dist/bundle/signer.worker.ts   each `new Worker(new URL("./x", import.meta.url))`
 *   <root>/dist/bundle/sqlite.worker.ts   target, bundled on its own under the literal's name
 *   <root>/migrations/                    what `new URL("../../migrations/", …)` names
 *
 * The names come from the source (see compile_task.ts), and the finished layout is checked: a URL
 * literal in the bundle that points at nothing fails the build with the list of what is missing.
 */
import { type AssetReference, findAssetReferences, REPO_ROOT } from "./compile_task.ts";

const BUNDLE_DIR = "dist/bundle";
const LITERAL_URL = /new\s+URL\(\s*"([^"\n]+)"\s*,\s*import\.meta\.url\s*\)/g;

/** A built bundle in a temp dir; dispose removes the dir. */
export interface Bundle extends AsyncDisposable {
  /** The temp dir holding everything. */
  root: string;
  /** Path of the bundled main module. */
  main: string;
  /** A data dir inside {@link root} (not created). */
  dataDir: string;
  /** Deno arguments that run the bundle with explicit permissions (place `serve …` after them). */
  command: string[];
}

/** Bundles main.ts and its workers; each `deno bundle` run is bounded by `timeoutMs`. */
export async function buildBundle(timeoutMs = 120_000): Promise<Bundle> {
  const root = await Deno.makeTempDir({ prefix: "keycast-bundle-" });
  try {
    const mainUrl = new URL(`${BUNDLE_DIR}/main.js`, `file://${root}/`);
    await Deno.mkdir(new URL(".", mainUrl), { recursive: true });
    await denoBundle("main.ts", mainUrl, timeoutMs);
    for (const reference of await findAssetReferences()) {
      await place(reference, mainUrl, root, timeoutMs);
    }
    await checkLayout(mainUrl);
    const dataDir = `${root}/data`;
    return {
      root,
      main: mainUrl.pathname,
      dataDir,
      command: [
        "run",
        "--no-config",
        "--no-prompt",
        "--unstable-worker-options",
        "--allow-net=127.0.0.1",
        "--allow-env",
        `--allow-read=${root}`,
        `--allow-write=${dataDir}`,
        mainUrl.pathname,
      ],
      [Symbol.asyncDispose]: () => Deno.remove(root, { recursive: true }),
    };
  } catch (error) {
    await Deno.remove(root, { recursive: true });
    throw error;
  }
}

/** Puts a worker (bundled) or an asset (copied) where the bundle's `import.meta.url` finds it. */
async function place(reference: AssetReference, mainUrl: URL, root: string, timeoutMs: number) {
  const destination = new URL(reference.literal, mainUrl);
  if (!destination.pathname.startsWith(`${root}/`)) {
    throw new Error(
      `Cannot place "${reference.literal}" from "${reference.file}": it leaves the bundle root`,
    );
  }
  if (reference.worker) return await denoBundle(reference.target, destination, timeoutMs);
  await copyRecursive(new URL(reference.target, REPO_ROOT), destination);
}

async function denoBundle(entry: string, output: URL, timeoutMs: number): Promise<void> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  try {
    const result = await new Deno.Command(Deno.execPath(), {
      args: ["bundle", "--platform", "deno", "--output", output.pathname, entry],
      cwd: REPO_ROOT.pathname,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: abort.signal,
    }).output();
    if (!result.success) {
      const stderr = new TextDecoder().decode(result.stderr);
      throw new Error(`Cannot bundle "${entry}" (exit ${result.code}):\n${stderr}`);
    }
  } finally {
    clearTimeout(timer);
  }
}

async function copyRecursive(from: URL, to: URL): Promise<void> {
  const source = from.pathname.replace(/\/+$/, "");
  const target = to.pathname.replace(/\/+$/, "");
  if ((await Deno.stat(source)).isFile) return await Deno.copyFile(source, target);
  await Deno.mkdir(target, { recursive: true });
  for await (const entry of Deno.readDir(source)) {
    await copyRecursive(
      new URL(`file://${source}/${entry.name}`),
      new URL(`file://${target}/${entry.name}`),
    );
  }
}

/** Throws when a `new URL("<literal>", import.meta.url)` in a bundled file points at nothing. */
async function checkLayout(mainUrl: URL): Promise<void> {
  const bundled: URL[] = [];
  for await (const entry of Deno.readDir(new URL(".", mainUrl))) {
    if (entry.isFile && /\.(js|ts)$/.test(entry.name)) bundled.push(new URL(entry.name, mainUrl));
  }
  const missing = new Set<string>();
  for (const file of bundled) {
    const text = await Deno.readTextFile(file);
    for (const match of text.matchAll(LITERAL_URL)) {
      const target = new URL(match[1]!, file);
      try {
        await Deno.stat(target);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
        missing.add(`"${match[1]}" in ${file.pathname.split("/").pop()}`);
      }
    }
  }
  if (missing.size > 0) {
    throw new Error(`Cannot run the bundle: URLs point at nothing: ${[...missing].join(", ")}`);
  }
}
