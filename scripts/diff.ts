/**
 * What changed between two pulls:
 *
 *   npm run --silent diff -- <older evidence id | path> <newer evidence id | path> [--csv changes.csv]
 *
 * Prints one JSON summary line (new, fixed, re-opened, absent, still open per
 * severity; hosts appearing and disappearing); `--csv` writes one row per
 * changed detection to a file. Exit code 0, 1 on a failure, 2 on bad usage.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { diffChanges, diffCsvRow, DIFF_CSV_HEADER, type DiffSummary } from '../audit/diff.js';
import type { EvidenceSource } from '../audit/evidence-source.js';
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
  const opened = await openEvidence([positionals[0]!, positionals[1]!], loadConfig());
  const [older, newer] = opened.sources as [EvidenceSource, EvidenceSource];
  try {
    const a = await openEvidenceHosts(older);
    const b = await openEvidenceHosts(newer);
    const csv = values.csv ? createWriteStream(values.csv) : null;
    csv?.write(`${DIFF_CSV_HEADER.join(',')}\n`);
    const changes = diffChanges(a.hosts, b.hosts);
    let summary: DiffSummary;
    for (;;) {
      const step = await changes.next();
      if (step.done) {
        summary = step.value;
        break;
      }
      if (csv && !csv.write(step.value.map(diffCsvRow).join(''))) await once(csv, 'drain');
    }
    if (csv) await new Promise<void>((resolve, reject) => csv.end((err?: Error | null) => (err ? reject(err) : resolve())));
    const collectedAt = (m: typeof a.manifest) => ('collectedAt' in m.run ? m.run.collectedAt : m.run.finishedAt);
    console.log(JSON.stringify({ a: { evidenceId: older.evidenceId, collectedAt: collectedAt(a.manifest) }, b: { evidenceId: newer.evidenceId, collectedAt: collectedAt(b.manifest) }, ...summary }));
    return 0;
  } finally {
    await opened.close();
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
