/**
 * The qualys command line (spawned once per command) and the pull-and-merge
 * it is built on, against the simulator.
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type SimulatorHandle } from '../simulator/server.js';
import { createQualysClient } from '../qualys/client.js';
import { readDetectionPage } from '../qualys/detection-page-reader.js';
import { buildHostListDetectionParams, hostListDetectionFiltersSchema } from '../qualys/hld-params.js';
import type { CsvLayout, XmlLayout } from '../qualys/page-summary.js';
import { pullToFile } from '../scripts/pull-to-file.js';
import { FIXTURES } from './fixtures/qualys/helpers.js';

const run = promisify(execFile);
const CLI = path.resolve(import.meta.dirname, '../scripts/qualys-cli.ts');
const TSX = path.resolve(import.meta.dirname, '../node_modules/.bin/tsx');
const PASSWORD = 'demo-pass';

let sim: SimulatorHandle;
let dir: string;

beforeAll(async () => {
  sim = await startSimulator({ hosts: 300, seed: 5, now: '2026-03-01T00:00:00Z' });
  dir = await mkdtemp(path.join(os.tmpdir(), 'qualys-cli-'));
});
afterAll(async () => {
  await sim.close();
  await rm(dir, { recursive: true, force: true });
});

async function summarizeFile(file: string) {
  return (await readDetectionPage(createReadStream(file))).summary;
}

describe('qualys command line', () => {
  it('summarize prints exactly one JSON object for a saved answer', async () => {
    const { stdout, stderr } = await run(TSX, [CLI, 'summarize', new URL('hld-truncated.xml', FIXTURES).pathname]);
    expect(stderr).toBe('');
    expect(stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(stdout)).toEqual({
      format: 'XML',
      hosts: 2,
      detections: 2,
      severity: { '1': 0, '2': 0, '3': 0, '4': 2, '5': 0, none: 0, other: 0 },
      status: { New: 1, Active: 1, Fixed: 0, 'Re-Opened': 0, none: 0, other: 0 },
      type: { Confirmed: 2, Potential: 0, Info: 0, none: 0, other: 0 },
      minHostId: 1001,
      maxHostId: 1002,
      datetime: '2026-02-17T09:41:07Z',
      truncated: true,
      nextIdMin: 1003,
    });
  });

  it('pull fetches every page into one well-formed file, with progress on stderr and never the password', async () => {
    const out = path.join(dir, 'pull.xml');
    const { stdout, stderr } = await run(
      TSX,
      [CLI, 'pull', '--base-url', sim.url, '--user', 'demo', '--password-env', 'QUALYS_TEST_PW', '--out', out, '--page-size', '40', '--severities', '3-5', '--status', 'New,Active,Re-Opened,Fixed', '--params', '{"show_igs":1}'],
      { env: { ...process.env, QUALYS_TEST_PW: PASSWORD } },
    );
    const printed = JSON.parse(stdout);
    const expected = sim.dataset.expected({ truncation_limit: '40', severities: '3,4,5', status: 'New,Active,Re-Opened,Fixed', show_igs: '1' });
    expect(expected.pages).toBeGreaterThan(3);
    expect(printed).toMatchObject({ format: 'XML', hosts: expected.hosts, detections: expected.detections, severity: expected.severity, status: expected.status, type: expected.type, minHostId: expected.minHostId, maxHostId: expected.maxHostId, truncated: false, nextIdMin: null });
    expect(stderr).toMatch(new RegExp(`pages ${expected.pages} · hosts ${expected.hosts} · detections ${expected.detections} · [\\d.]+ MB · [\\d.]+ MB/s`));
    expect(stderr + stdout).not.toContain(PASSWORD);

    // The merged file is one document: no truncation warning, every host once, the same totals.
    const merged = await summarizeFile(out);
    expect(merged).toMatchObject({ hosts: expected.hosts, detections: expected.detections, truncated: false });
    const text = await readFile(out, 'utf8');
    expect(text.match(/<HOST_LIST>/g)).toHaveLength(1);
    expect(text).not.toContain('<WARNING>');
    expect([...text.matchAll(/<HOST>\s*<ID>(\d+)<\/ID>/g)].map((m) => Number(m[1]))).toEqual(expected.hostIds);
    expect((merged.layout as XmlLayout).listOpen).not.toBeNull();
    expect((await readdir(dir)).filter((f) => f.startsWith('.qualys-pull-'))).toEqual([]);
  });

  it('pull fails with one clear line and a non-zero exit code', async () => {
    const err = (await run(TSX, [CLI, 'pull', '--base-url', sim.url, '--user', 'demo', '--password-env', 'QUALYS_TEST_PW', '--out', path.join(dir, 'x.xml')], {
      env: { ...process.env, QUALYS_TEST_PW: 'wrong-secret-pw' },
    }).catch((e: unknown) => e)) as { code: number; stderr: string; stdout: string };
    expect(err.code).toBe(1);
    expect(err.stdout).toBe('');
    expect(err.stderr.trim().split('\n')).toHaveLength(1);
    expect(err.stderr).toContain('Qualys rejected the login');
    expect(err.stderr).toContain('CODE 2000');
    expect(err.stderr).not.toContain('wrong-secret-pw');
  });

  it('merges CSV pages into one body with a single column header and a Finished footer', async () => {
    const client = createQualysClient({ apiBaseUrl: sim.url, username: 'demo', password: PASSWORD });
    try {
      const params = buildHostListDetectionParams(hostListDetectionFiltersSchema.parse({ format: 'CSV', severities: [4, 5] }), { apiVersion: '5.0', truncationLimit: 50 });
      const out = path.join(dir, 'pull.csv');
      const result = await pullToFile(client, { params, out });
      const expected = sim.dataset.expected(params);
      expect(result.pages).toHaveLength(expected.pages);
      const merged = await summarizeFile(out);
      expect(merged).toMatchObject({ format: 'CSV', hosts: expected.hosts, detections: expected.detections, severity: expected.severity, truncated: false });
      const text = await readFile(out, 'utf8');
      expect(text.match(/"Host ID","IP Address"/g)).toHaveLength(1);
      expect(text.endsWith('----BEGIN_RESPONSE_FOOTER_CSV\n"Status Message"\n"Finished"\n----END_RESPONSE_FOOTER_CSV\n')).toBe(true);
      expect((merged.layout as CsvLayout).footer).not.toBeNull();
    } finally {
      await client.close();
    }
  });
});
