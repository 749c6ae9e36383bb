/**
 * Our TypeScript compiled to plain ES modules for code that runs where the
 * TypeScript loader does not: worker threads (whichever loader the process
 * started with: tsx, vitest, or none in a bundled benchmark) and benchmark
 * children. Packages stay external and resolve from node_modules, so bundles
 * are written inside the project.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, stop, type BuildOptions, type Plugin } from 'esbuild';
import { CACHE_DIR } from './paths.js';

/**
 * Modules find their files (migrations, the workflows folder) relative to
 * `import.meta.url`; inside a bundle that would be the bundle's URL, so each
 * module keeps its own source URL.
 */
const keepModuleUrls: Plugin = {
  name: 'keep-module-urls',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async ({ path: file }) => ({
      contents: (await fs.readFile(file, 'utf8')).replaceAll('import.meta.url', JSON.stringify(pathToFileURL(file).href)),
      loader: 'ts',
    }));
  },
};

export const MODULE_BUNDLE_OPTIONS: BuildOptions = {
  // Modules imported with import() stay in chunks of their own and load only when asked for, as they do unbundled
  // (the S3 blob store's SDK, 4.3 MB of heap once loaded, is not loaded by a worker on local disk).
  splitting: true,
  bundle: true,
  packages: 'external',
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'error',
  outExtension: { '.js': '.mjs' },
  plugins: [keepModuleUrls],
};

/** Bundles of older sources are removed once this old: a process loads its bundle when it starts the thread, and builds it again to restart one. */
const STALE_BUNDLE_MS = 60 * 60_000;

/** This process's bundles, by entry: a thread started again reuses its file while the file is there. */
const bundles = new Map<string, Promise<string>>();
let building = 0;

/**
 * `entry` bundled under a folder named for the bundle's content, reused while
 * the sources are unchanged; written to a scratch folder and renamed, so
 * processes building it at once never see a partial bundle. Returns the
 * entry's bundled file.
 */
export async function bundledModule(entry: string): Promise<string> {
  const known = bundles.get(entry);
  if (known) {
    const file = await known.catch(() => null);
    if (file && (await exists(file))) return file;
  }
  const bundling = buildBundle(entry);
  bundles.set(entry, bundling);
  return bundling;
}

async function buildBundle(entry: string): Promise<string> {
  building++;
  try {
    const result = await build({ ...MODULE_BUNDLE_OPTIONS, entryPoints: [entry], outdir: '/', write: false });
    const hash = createHash('sha256');
    for (const file of result.outputFiles) hash.update(file.path).update(file.contents);
    const name = path.basename(entry, '.ts');
    const dir = path.join(CACHE_DIR, 'modules', `${name}-${hash.digest('hex').slice(0, 16)}`);
    const file = path.join(dir, `${name}.mjs`);
    if (await exists(file)) return file;
    const scratch = await fs.mkdtemp(`${dir}.tmp-`).catch(async () => {
      await fs.mkdir(path.dirname(dir), { recursive: true });
      return fs.mkdtemp(`${dir}.tmp-`);
    });
    for (const out of result.outputFiles) await fs.writeFile(path.join(scratch, path.relative('/', out.path)), out.contents);
    await fs.rename(scratch, dir).catch(async (err: NodeJS.ErrnoException) => {
      // Another process renamed the same bundle first.
      await fs.rm(scratch, { recursive: true, force: true });
      if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
    });
    await removeStaleBundles(path.dirname(dir), name, dir);
    return file;
  } finally {
    // esbuild's service is a process of about 20 MB that would otherwise stay beside the worker; it starts again when needed.
    if (--building === 0) await stop();
  }
}

const exists = (file: string) => fs.stat(file).then(() => true, () => false);

async function removeStaleBundles(parent: string, name: string, current: string): Promise<void> {
  for (const entry of await fs.readdir(parent)) {
    const dir = path.join(parent, entry);
    if (dir === current || !entry.startsWith(`${name}-`)) continue;
    const stat = await fs.stat(dir).catch(() => null);
    if (stat && Date.now() - stat.mtimeMs > STALE_BUNDLE_MS) await fs.rm(dir, { recursive: true, force: true });
  }
}
