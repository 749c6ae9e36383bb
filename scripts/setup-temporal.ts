/** Idempotent set-up step: make sure a `temporal` CLI binary is available. */
import { ensureTemporalCli } from '../runtime/temporal-cli.js';

try {
  const binary = await ensureTemporalCli();
  process.stderr.write(`temporal CLI: ${binary}\n`);
} catch (e) {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
}
