/**
 * Vulnerability SLA as of a date, from a sealed Host List Detection file:
 *
 *   npm run --silent sla -- <evidence id | path> --as-of 2026-06-30 --policy fedramp [--strict] [--csv out.csv]
 *
 * Prints the report as JSON (the exception list, then counts per category,
 * severity and verdict, and the percentage within SLA), one line. `--csv`
 * writes one row per assessed detection to a file as well. Exit code 0, or 1
 * on a failure, 2 on bad usage.
 */
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { openEvidenceHosts, readSourceManifest } from '../audit/evidence-hosts.js';
import { fixedDetectionsWarning, slaReport } from '../audit/sla.js';
import { parsePolicy, SlaPolicyError } from '../audit/sla-policy.js';
import { loadConfig } from '../runtime/config.js';
import { openEvidence } from './configured-database.js';

const HELP = `Usage: npm run --silent sla -- <evidence id | path> --as-of YYYY-MM-DD --policy <fedramp|pci-dss|commercial|JSON> [--strict] [--csv FILE]

  --as-of DATE     the day to judge on (end of that day, UTC)
  --policy P       fedramp, pci-dss, commercial, or a JSON policy:
                   {"name":"ours","days":{"critical":7,"high":30,"medium":60,"low":120}}
  --strict         re-opened detections keep their first-found clock
  --csv FILE       also write one CSV row per assessed detection to FILE
`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv.filter((a) => a !== '--'),
      allowPositionals: true,
      options: { 'as-of': { type: 'string' }, policy: { type: 'string' }, strict: { type: 'boolean' }, csv: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError('give exactly one evidence id or path');
  const asOf = values['as-of'];
  if (!asOf || !/^\d{4}-\d{2}-\d{2}$/.test(asOf) || Number.isNaN(Date.parse(`${asOf}T00:00:00Z`))) throw new UsageError('--as-of: expected a date YYYY-MM-DD');
  if (!values.policy) throw new UsageError('--policy: required (fedramp, pci-dss, commercial or JSON)');
  let policy;
  try {
    policy = parsePolicy(values.policy);
  } catch (err) {
    if (err instanceof SlaPolicyError) throw new UsageError(`--policy: ${err.message}`);
    throw err;
  }
  const options = { asOf, policy, strict: values.strict ?? false };
  const opened = await openEvidence([positionals[0]!], loadConfig());
  const source = opened.sources[0]!;
  try {
    const warning = fixedDetectionsWarning((await readSourceManifest(source)).qualys.params);
    const warnings = warning ? [warning] : [];
    if (values.csv) {
      const { hosts } = await openEvidenceHosts(source);
      const out = createWriteStream(values.csv);
      for await (const text of slaReport(hosts, options, { format: 'csv', head: {}, warnings })) if (!out.write(text)) await once(out, 'drain');
      out.end();
      await once(out, 'finish');
    }
    const { hosts } = await openEvidenceHosts(source);
    for await (const text of slaReport(hosts, options, { format: 'json', head: { evidenceId: source.evidenceId }, warnings })) {
      if (!process.stdout.write(text)) await once(process.stdout, 'drain');
    }
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
    if (err instanceof UsageError) {
      console.error(`${err.message}\n\n${HELP}`);
      process.exitCode = 2;
      return;
    }
    console.error(`sla: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
