/**
 * What changed between two pulls:
 *
 *   npm run --silent diff -- <older evidence id | path> <newer evidence id | path> [--csv changes.csv]
 *
 * Prints one JSON summary line (new, fixed, re-opened, absent, still open per
 * severity; hosts appearing and disappearing); `--csv` writes one row per
 * changed detection to a file. Exit code 0, 1 on a failure, 2 on bad usage.
 */
import { createWriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { diffCsvRow, diffHosts, DIFF_CSV_HEADER } from '../audit/diff.js';
import { openEvidenceHosts } from '../audit/evidence-hosts.js';
import { loadConfig } from '../runtime/config.js';
import { openEvidence } from './configured-database.js';

const HELP = `Usage: npm run --silent diff -- <older evidence id | path> <newer evidence id | path> [--csv FILE]`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv.filter((a) => a !== '--'), allowPositionals: true, options: { csv: { type: 'string' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 2) {
    console.error(HELP);
    return 2;
  }
  const config = loadConfig();
  const older = await openEvidence(positionals[0]!, config);
  const newer = await openEvidence(positionals[1]!, config).catch(async (err: unknown) => {
    await older.close();
    throw err;
  });
  try {
    const a = await openEvidenceHosts(older.source);
    const b = await openEvidenceHosts(newer.source);
    const csv = values.csv ? createWriteStream(values.csv) : null;
    csv?.write(`${DIFF_CSV_HEADER.join(',')}\n`);
    const summary = await diffHosts(a.hosts, b.hosts, csv ? (change) => csv.write(diffCsvRow(change)) : undefined);
    if (csv) await new Promise<void>((resolve, reject) => csv.end((err?: Error | null) => (err ? reject(err) : resolve())));
    console.log(JSON.stringify({ a: { evidence: older.source.evidenceId, collectedAt: 'collectedAt' in a.manifest.run ? a.manifest.run.collectedAt : a.manifest.run.finishedAt }, b: { evidence: newer.source.evidenceId, collectedAt: 'collectedAt' in b.manifest.run ? b.manifest.run.collectedAt : b.manifest.run.finishedAt }, ...summary }));
    return 0;
  } finally {
    await Promise.all([older.close(), newer.close()]);
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`diff: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
