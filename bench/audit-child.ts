/**
 * The contenders of the audit benchmarks, each in a fresh process on an
 * evidence folder the parent made:
 *   saxes <file>                 bare saxes over the sealed file
 *   verify <file>                full verification (pages hashed and parsed, re-sealed and compared)
 *   sla <file> <asOf> <policy>   the SLA report (JSON, exception list included) into /dev/null
 *   diff <fileA> <fileB>         the diff summary with every change as a CSV row into /dev/null
 * Each prints one JSON line: bytes (of the sealed file, or both for diff), seconds, peak RSS.
 */
import fs from 'node:fs/promises';
import { diffChanges, diffCsvRow } from '../audit/diff.js';
import { folderEvidenceSource } from '../audit/evidence-source.js';
import { openEvidenceHosts } from '../audit/evidence-hosts.js';
import { slaReport } from '../audit/sla.js';
import { parsePolicy } from '../audit/sla-policy.js';
import { verifyEvidence } from '../audit/verify.js';
import { bareSaxes } from './bare-saxes.js';
import { maxRssMB } from './child.js';

const size = async (file: string) => (await fs.stat(file)).size;

async function timed(bytes: number, work: () => Promise<Record<string, unknown>>) {
  const started = process.hrtime.bigint();
  const extra = await work();
  return { bytes, seconds: Number(process.hrtime.bigint() - started) / 1e9, peakRssMB: maxRssMB(), ...extra };
}

async function verify(file: string) {
  return timed(await size(file), async () => {
    const report = await verifyEvidence(await folderEvidenceSource(file));
    if (report.verdict !== 'verified') throw new Error(`verification of the bench evidence gave ${report.verdict}: ${JSON.stringify(report.checks)}`);
    return { verdict: report.verdict, hosts: report.hosts, detections: report.detections };
  });
}

async function sla(file: string, asOf: string, policy: string) {
  return timed(await size(file), async () => {
    const { hosts } = await openEvidenceHosts(await folderEvidenceSource(file));
    let out = 0;
    for await (const text of slaReport(hosts, { asOf, policy: parsePolicy(policy), strict: false }, { format: 'json', head: {}, warnings: [] })) out += text.length;
    return { reportBytes: out };
  });
}

async function diff(a: string, b: string) {
  return timed((await size(a)) + (await size(b)), async () => {
    const changes = diffChanges((await openEvidenceHosts(await folderEvidenceSource(a))).hosts, (await openEvidenceHosts(await folderEvidenceSource(b))).hosts);
    let rows = 0;
    for (;;) {
      const step = await changes.next();
      if (step.done) return { changes: rows, stillOpen: step.value.detections['still-open'].total };
      for (const change of step.value) rows += diffCsvRow(change).length > 0 ? 1 : 0;
    }
  });
}

const [mode, ...args] = process.argv.slice(2);
const result =
  mode === 'saxes' ? await bareSaxes(args[0]!) : mode === 'verify' ? await verify(args[0]!) : mode === 'sla' ? await sla(args[0]!, args[1]!, args[2]!) : await diff(args[0]!, args[1]!);
process.stdout.write(`${JSON.stringify(result)}\n`);
