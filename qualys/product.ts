/** The product's name and version, as Qualys sees them in User-Agent and manifests record them. */
import pkg from '../package.json' with { type: 'json' };

export const PRODUCT = { name: pkg.name, version: pkg.version } as const;
