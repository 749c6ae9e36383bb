/**
 * Opening the database: migrations (applied repeatedly, and concurrently on
 * Postgres) and the seeded control catalog, on Postgres and on PGlite.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eq, sql } from 'drizzle-orm';
import { CONTROL_CATALOG, FRAMEWORKS, seedControls } from '../db/control-catalog.js';
import { freshPgliteDir } from './support/pglite-template.js';
import { openDatabase, type DatabaseHandle } from '../db/database.js';
import { controls } from '../db/schema.js';
import { createScratchDatabase } from '../db/scratch-database.js';
import journal from '../db/migrations/meta/_journal.json' with { type: 'json' };

/** Every generated migration, each applied exactly once. */
const MIGRATIONS = journal.entries.length;

/** A database of our own, so migrations really start from nothing and nothing else writes to it. */
const scratchDatabase = () => createScratchDatabase(inject('databaseUrl'), 'qec_dbschema');

async function migrationCount(h: DatabaseHandle): Promise<number> {
  const rows = await h.db
    .select({ n: sql<number>`count(*)::int` })
    .from(sql`drizzle.__drizzle_migrations`);
  return rows[0]!.n;
}

async function catalogRows(h: DatabaseHandle) {
  return h.db.select().from(controls);
}

const EXPECTED_CODES: Record<string, string[]> = {
  [FRAMEWORKS.SOC2]: ['CC7.1'],
  [FRAMEWORKS.CIS_V6_1]: ['4.1'],
  [FRAMEWORKS.CIS_V7]: ['3.1', '3.2', '9.3', '12.2'],
  [FRAMEWORKS.CSA_CCM]: ['IVS-05'],
  [FRAMEWORKS.NIST_800_53]: ['RA-5'],
  [FRAMEWORKS.NIST_800_171]: ['3.11.2', '3.11.3'],
  [FRAMEWORKS.NIST_CSF]: ['DE.CM-8'],
  [FRAMEWORKS.OWASP_2017]: ['A6', 'A9'],
  [FRAMEWORKS.PCI_DSS]: ['11.2', '11.2.1', '11.2.2', '11.2.3'],
  [FRAMEWORKS.SWIFT_CSF]: ['2.7'],
  [FRAMEWORKS.FEDRAMP_MODERATE]: ['RA-5'],
  [FRAMEWORKS.FFIEC]: ['Category 17'],
  [FRAMEWORKS.MITRE_ATTACK]: ['M1016'],
  [FRAMEWORKS.HIPAA]: ['164.308(a)(1)(ii)(A)'],
  // The current versions, beside the product's.
  [FRAMEWORKS.PCI_DSS_4]: ['11.3.1', '11.3.1.1', '11.3.1.2', '11.3.1.3', '11.3.2', '11.3.2.1'],
  [FRAMEWORKS.NIST_800_53_R5]: ['RA-5', 'RA-5(2)', 'RA-5(5)'],
  [FRAMEWORKS.NIST_800_171_R3]: ['03.11.02'],
  [FRAMEWORKS.NIST_CSF_2]: ['ID.RA-01'],
  [FRAMEWORKS.CIS_V8_1]: ['7.5', '7.6'],
  [FRAMEWORKS.FEDRAMP_REV5]: ['RA-5'],
};

const EXPECTED_CADENCES: Record<string, string> = {
  [`${FRAMEWORKS.PCI_DSS}|11.2`]: 'quarterly',
  [`${FRAMEWORKS.PCI_DSS}|11.2.1`]: 'quarterly',
  [`${FRAMEWORKS.PCI_DSS}|11.2.2`]: 'quarterly',
  [`${FRAMEWORKS.PCI_DSS}|11.2.3`]: 'quarterly',
  [`${FRAMEWORKS.FEDRAMP_MODERATE}|RA-5`]: 'monthly',
  [`${FRAMEWORKS.CIS_V6_1}|4.1`]: 'weekly',
  [`${FRAMEWORKS.CIS_V7}|3.1`]: 'weekly',
  ...Object.fromEntries(['11.3.1', '11.3.1.1', '11.3.1.2', '11.3.1.3', '11.3.2', '11.3.2.1'].map((code) => [`${FRAMEWORKS.PCI_DSS_4}|${code}`, 'quarterly'])),
  [`${FRAMEWORKS.CIS_V8_1}|7.5`]: 'quarterly',
  [`${FRAMEWORKS.CIS_V8_1}|7.6`]: 'monthly',
  [`${FRAMEWORKS.FEDRAMP_REV5}|RA-5`]: 'monthly',
};

function expectFullCatalog(rows: Awaited<ReturnType<typeof catalogRows>>) {
  expect(rows).toHaveLength(22 + 14);
  const byFramework: Record<string, string[]> = {};
  for (const r of rows) (byFramework[r.framework] ??= []).push(r.code);
  for (const codes of Object.values(byFramework)) codes.sort();
  const expected = Object.fromEntries(Object.entries(EXPECTED_CODES).map(([f, c]) => [f, [...c].sort()]));
  expect(byFramework).toEqual(expected);
  for (const r of rows) {
    expect(r.cadence, `${r.framework} ${r.code}`).toBe(EXPECTED_CADENCES[`${r.framework}|${r.code}`] ?? null);
    expect(r.name.length).toBeGreaterThan(0);
    expect(r.description.length).toBeGreaterThan(20);
  }
  // Ids are the same on every installation, so integrations can name controls directly.
  const ids = Object.fromEntries(rows.map((r) => [`${r.framework}|${r.code}`, r.id]));
  expect(ids['PCI DSS v3.2.1|11.2']).toBe('pci-dss-v3.2.1:11.2');
  expect(ids['FedRAMP Moderate|RA-5']).toBe('fedramp-moderate:ra-5');
  expect(ids['HIPAA|164.308(a)(1)(ii)(A)']).toBe('hipaa:164.308(a)(1)(ii)(a)');
  expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
}

describe('control catalog data', () => {
  it('copies names and descriptions from the product description', () => {
    const find = (framework: string, code: string) =>
      CONTROL_CATALOG.find((c) => c.framework === framework && c.code === code)!;
    expect(find(FRAMEWORKS.HIPAA, '164.308(a)(1)(ii)(A)').name).toBe('Risk Management');
    expect(find(FRAMEWORKS.FEDRAMP_MODERATE, 'RA-5').description).toContain(
      '[FedRAMP Assignment: monthly operating system/infrastructure; monthly web applications and databases]',
    );
    expect(find(FRAMEWORKS.PCI_DSS, '11.2').description).toMatch(
      /^Run internal and external network vulnerability scans at least quarterly[\s\S]+four quarters of passing scans must have occurred\.$/,
    );
    expect(find(FRAMEWORKS.SOC2, 'CC7.1').description.split('\n\n')).toHaveLength(9);
    expect(find(FRAMEWORKS.CSA_CCM, 'IVS-05').name).toBe('Management - Vulnerability Management');
    expect(find(FRAMEWORKS.NIST_CSF, 'DE.CM-8').description).toBe('Vulnerability scans are performed.');
    // The source's typos in framework names are fixed; nothing trails or leads with blanks.
    const frameworks = new Set(CONTROL_CATALOG.map((c) => c.framework));
    expect([...frameworks].some((f) => /HIPPA|^CS CCM|800r4/.test(f))).toBe(false);
    for (const c of CONTROL_CATALOG) {
      for (const text of [c.framework, c.code, c.name, c.description]) expect(text).toBe(text.trim());
    }
  });
});

describe('current framework versions', () => {
  it('adds each successor the audit issue lists, linked to a catalog control it succeeds, with its cadence', () => {
    const key = (f: string, code: string) => `${f}|${code}`;
    const all = new Set(CONTROL_CATALOG.map((c) => key(c.framework, c.code)));
    const successors = CONTROL_CATALOG.filter((c) => c.succeeds);
    for (const c of successors) expect(all.has(key(...c.succeeds!))).toBe(true);
    const cadence = Object.fromEntries(successors.map((c) => [key(c.framework, c.code), c.cadence]));
    expect(cadence).toEqual({
      'PCI DSS v4.0.1|11.3.1': 'quarterly',
      'PCI DSS v4.0.1|11.3.1.1': 'quarterly',
      'PCI DSS v4.0.1|11.3.1.2': 'quarterly',
      'PCI DSS v4.0.1|11.3.1.3': 'quarterly',
      'PCI DSS v4.0.1|11.3.2': 'quarterly',
      'PCI DSS v4.0.1|11.3.2.1': 'quarterly',
      'NIST SP 800-53 r5|RA-5': null,
      'NIST SP 800-53 r5|RA-5(2)': null,
      'NIST SP 800-53 r5|RA-5(5)': null,
      'NIST SP 800-171 r3|03.11.02': null,
      'NIST CSF 2.0|ID.RA-01': null,
      'CIS Controls v8.1|7.5': 'quarterly',
      'CIS Controls v8.1|7.6': 'monthly',
      'FedRAMP Rev 5|RA-5': 'monthly',
    });
  });
});

describe('Postgres', () => {
  let scratch: Awaited<ReturnType<typeof createScratchDatabase>>;
  beforeAll(async () => {
    scratch = await scratchDatabase();
  });
  afterAll(async () => {
    await scratch?.drop();
  });

  it('lets concurrent opens of a fresh database migrate and seed exactly once', async () => {
    const handles = await Promise.all(Array.from({ length: 6 }, () => openDatabase({ url: scratch.url, max: 1 })));
    try {
      expect(handles.every((h) => h.kind === 'postgres')).toBe(true);
      expect(await migrationCount(handles[0]!)).toBe(MIGRATIONS);
      expectFullCatalog(await catalogRows(handles[0]!));
    } finally {
      await Promise.all(handles.map((h) => h.close()));
    }
  });

  it('re-applies nothing when opened again, and re-seeding keeps ids while restoring catalog text', async () => {
    const h = await openDatabase({ url: scratch.url });
    try {
      expect(await migrationCount(h)).toBe(MIGRATIONS);
      const before = await catalogRows(h);
      const target = before.find((c) => c.framework === FRAMEWORKS.PCI_DSS && c.code === '11.2')!;
      await h.db.update(controls).set({ name: 'edited', cadence: null }).where(eq(controls.id, target.id));
      await seedControls(h.db);
      await seedControls(h.db);
      const after = await catalogRows(h);
      expectFullCatalog(after);
      expect(after.map((c) => c.id).sort()).toEqual(before.map((c) => c.id).sort());
      const restored = after.find((c) => c.id === target.id)!;
      expect(restored).toMatchObject({ name: 'Network Vulnerability Scans', cadence: 'quarterly' });
    } finally {
      await h.close();
    }
  });
});

describe('PGlite', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'qec-dbschema-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('creates the directory, migrates, seeds, and re-opens without re-applying anything', async () => {
    const dataDir = path.join(dir, 'nested', 'db');
    const first = await openDatabase({ pgliteDir: dataDir });
    try {
      expect(first.kind).toBe('pglite');
      expect(await migrationCount(first)).toBe(MIGRATIONS);
      expectFullCatalog(await catalogRows(first));
      await expect(openDatabase({ pgliteDir: dataDir })).rejects.toThrow(/already open in this process/);
    } finally {
      await first.close();
    }
    const second = await openDatabase({ pgliteDir: dataDir });
    try {
      expect(await migrationCount(second)).toBe(MIGRATIONS);
      expectFullCatalog(await catalogRows(second));
    } finally {
      await second.close();
    }
  });
});

describe('openDatabase', () => {
  it('says what it needs when given neither a URL nor a directory', async () => {
    await expect(openDatabase({})).rejects.toThrow(/url \(Postgres\) or pgliteDir/);
  });

  it('rejects a pool size that is not a positive integer', async () => {
    await expect(openDatabase({ url: inject('databaseUrl'), max: 0 })).rejects.toThrow(/max must be a positive integer/);
  });
});

describe('embedded database ownership', () => {
  it('refuses a second process while the first holds the directory, and takes over a dead holder', async () => {
    // The lock is the subject here, not creating the database: start from the set-up's empty one.
    const dir = await freshPgliteDir(path.join(await mkdtemp(path.join(tmpdir(), 'qec-lock-')), 'db'));
    try {
      const first = await openDatabase({ pgliteDir: dir });
      const script = `import('${path.resolve(import.meta.dirname, '../db/database.ts')}').then(m => m.openDatabase({ pgliteDir: ${JSON.stringify(dir)} })).then(() => process.exit(0), (e) => { console.error(e.name + ': ' + e.message); process.exit(3); })`;
      const second = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { encoding: 'utf8' });
      expect(second.status).toBe(3);
      expect(second.stderr).toContain('EmbeddedDatabaseBusyError');
      expect(second.stderr).toContain(`process ${process.pid}`);
      await first.close();

      // A holder that died without closing leaves its lock behind; the next opener takes over.
      await writeFile(path.join(dir, 'connector.lock'), '999999999');
      const again = await openDatabase({ pgliteDir: dir });
      await again.close();
    } finally {
      await rm(path.dirname(dir), { recursive: true, force: true });
    }
  });
});
