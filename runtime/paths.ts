import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** Repository root, independent of the caller's working directory. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Git-ignored folder for downloaded tools (the temporal CLI). */
export const CACHE_DIR = path.join(PROJECT_ROOT, '.cache');
