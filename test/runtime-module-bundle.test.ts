/**
 * Bundles of our TypeScript for worker threads: built once per content and
 * reused, safe when several processes build the same bundle at once, no
 * esbuild service left running after, and bundles of older sources are
 * cleared away after a while.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { fromPlainError } from '../activities/cross-thread-error.js';
import { bundledModule } from '../runtime/module-bundle.js';

const ENTRY = path.resolve(import.meta.dirname, '../activities/cross-thread-error.ts');

describe('module bundles', () => {
  it('builds a bundle once for its content, whoever asks at the same time, and it runs', async () => {
    const files = await Promise.all([bundledModule(ENTRY), bundledModule(ENTRY), bundledModule(ENTRY)]);
    expect(new Set(files).size).toBe(1);
    const bundled = (await import(pathToFileURL(files[0]!).href)) as { fromPlainError: typeof fromPlainError };
    expect(bundled.fromPlainError({ name: 'QualysRateLimitError', message: 'wait', fields: { retryAfterSeconds: 3 } })).toMatchObject({ message: 'wait', retryAfterSeconds: 3 });
    // No scratch folder is left behind.
    expect((await fs.readdir(path.dirname(path.dirname(files[0]!)))).filter((e) => e.includes('.tmp-'))).toEqual([]);
  });

  it('leaves no esbuild service running beside the process once built', async () => {
    const services = () => execFileSync('ps', ['-o', 'args=', '--ppid', String(process.pid)], { encoding: 'utf8' }).split('\n').filter((line) => line.includes('esbuild --service'));
    await fs.rm(path.dirname(await bundledModule(ENTRY)), { recursive: true, force: true });
    await bundledModule(ENTRY);
    await expect.poll(services).toEqual([]);
  });

  it('removes bundles of older sources once they are an hour old, and keeps younger ones', async () => {
    const file = await bundledModule(ENTRY);
    const parent = path.dirname(path.dirname(file));
    const old = path.join(parent, 'cross-thread-error-00000000000000old');
    const young = path.join(parent, 'cross-thread-error-0000000000000young');
    await fs.mkdir(old, { recursive: true });
    await fs.mkdir(young, { recursive: true });
    const twoHoursAgo = new Date(Date.now() - 2 * 60 * 60_000);
    await fs.utimes(old, twoHoursAgo, twoHoursAgo);
    // Building removes them: make this call write a bundle by removing the current one first.
    await fs.rm(path.dirname(file), { recursive: true, force: true });
    expect(await bundledModule(ENTRY)).toBe(file);
    await expect(fs.stat(old)).rejects.toThrow(/ENOENT/);
    await expect(fs.stat(young)).resolves.toBeTruthy();
    await fs.rm(young, { recursive: true, force: true });
  });
});
