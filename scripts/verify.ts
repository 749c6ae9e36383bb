/**
 * Re-performs the seal of a piece of evidence:
 *
 *   npm run --silent verify -- <evidence id | path to a sealed file or its folder>
 *
 * An id is read from the configured database and blob store; a path from an
 * export (the manifest.json and pages/ beside the file). One line per check,
 * then, as the last line, one JSON object:
 * {"verdict","checks":[{"name","ok","detail"}],"sha256","hosts","detections"}.
 * Exit code 0 only when the verdict is "verified"; 1 for "failed" or
 * "partial"; 2 for bad usage.
 */
import { verifyEvidence } from '../audit/verify.js';
import { loadConfig } from '../runtime/config.js';
import { openEvidence } from './configured-database.js';

const HELP = `Usage: npm run --silent verify -- <evidence id | path>

  <evidence id>   evidence in the configured database (DATABASE_URL or DATA_DIR)
  <path>          an exported sealed file, or its folder (manifest.json and pages/ beside it)

Prints one line per check, then one JSON line:
{"verdict":"verified|failed|partial","checks":[{"name","ok","detail"}],"sha256","hosts","detections"}
Exit code 0 only for "verified".
`;

async function main(argv: string[]): Promise<number> {
  const targets = argv.filter((a) => a !== '--');
  if (targets.length !== 1 || targets[0] === '--help' || targets[0] === '-h') {
    (targets.length === 1 ? console.log : console.error)(HELP);
    return targets.length === 1 ? 0 : 2;
  }
  const opened = await openEvidence([targets[0]!], loadConfig());
  try {
    const report = await verifyEvidence(opened.sources[0]!);
    for (const check of report.checks) {
      console.log(`${check.ok === true ? 'ok  ' : check.ok === false ? 'FAIL' : 'n/a '} ${check.name}: ${check.detail}`);
    }
    console.log(JSON.stringify({ verdict: report.verdict, checks: report.checks, sha256: report.sha256, hosts: report.hosts, detections: report.detections, evidenceId: report.evidenceId, completeness: report.completeness }));
    return report.verdict === 'verified' ? 0 : 1;
  } finally {
    await opened.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(`verify: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
