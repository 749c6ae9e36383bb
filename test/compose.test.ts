/**
 * docker-compose cannot run on the CI machine, so its structure is checked
 * here: references resolve, every long-running service has a health check,
 * mounted files exist, and the search attributes match the workflow's.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../runtime/config.js';
import { PROJECT_ROOT } from '../runtime/paths.js';
import { RUN_SEARCH_ATTRIBUTES } from '../shared/contracts.js';

interface Service {
  image?: string;
  build?: string;
  command?: string[];
  entrypoint?: string[];
  depends_on?: Record<string, { condition: string }>;
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
}

const compose = parse(fs.readFileSync(path.join(PROJECT_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const services = compose.services;

describe('docker-compose.yml', () => {
  it('has the production shape from the design', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['api', 'object-store', 'object-store-bucket', 'postgres', 'temporal', 'temporal-namespace', 'temporal-schema', 'temporal-ui', 'worker'].sort(),
    );
    expect(services.temporal!.image).toMatch(/^temporalio\/server:/);
    expect(services['temporal-schema']!.image).toMatch(/^temporalio\/admin-tools:/);
    expect(JSON.stringify(compose)).not.toContain('auto-setup');
  });

  it('references only services and volumes it defines, with valid conditions', () => {
    for (const [name, service] of Object.entries(services)) {
      expect(service.image ?? service.build, `${name} needs an image or a build`).toBeTruthy();
      for (const [dep, { condition }] of Object.entries(service.depends_on ?? {})) {
        expect(services, `${name} depends on ${dep}`).toHaveProperty(dep);
        expect(['service_started', 'service_healthy', 'service_completed_successfully']).toContain(condition);
        if (condition === 'service_healthy') expect(services[dep]!.healthcheck, `${dep} must have a health check`).toBeDefined();
      }
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('./')) expect(fs.existsSync(path.join(PROJECT_ROOT, source)), `${source} exists`).toBe(true);
        else expect(compose.volumes, `named volume ${source}`).toHaveProperty(source);
      }
    }
  });

  it('gives every long-running service a health check', () => {
    for (const name of ['postgres', 'temporal', 'temporal-ui', 'object-store', 'api', 'worker']) {
      expect(services[name]!.healthcheck?.test.length, name).toBeGreaterThan(0);
    }
  });

  it('points the connector at external Postgres and Temporal with a secrets key', () => {
    for (const name of ['api', 'worker']) {
      const env = services[name]!.environment!;
      expect(env.DATABASE_URL).toMatch(/^postgres:\/\/.*@postgres:5432\//);
      expect(env.TEMPORAL_ADDRESS).toBe('temporal:7233');
      expect(env.SECRETS_KEY).toContain('SECRETS_KEY');
    }
    expect(services.api!.command).toEqual(['npm', 'run', 'api']);
    expect(services.worker!.command).toEqual(['npm', 'run', 'worker']);
  });

  it('keeps the evidence in the object store, whose bucket exists before the connector starts', () => {
    const store = services['object-store']!;
    // A maintained S3-compatible server, pinned (MinIO's community images stopped in 2025).
    expect(store.image).toMatch(/^ghcr\.io\/versity\/versitygw:v\d+\.\d+\.\d+$/);
    expect(store.environment!.ROOT_SECRET_KEY).toContain(':?');
    expect(services['object-store-bucket']!.command).toEqual(['npm', 'run', '--silent', 'blobs:init']);
    expect(services['object-store-bucket']!.depends_on).toEqual({ 'object-store': { condition: 'service_healthy' } });
    for (const name of ['api', 'worker']) {
      const env = services[name]!.environment!;
      expect(env.BLOB_STORE_URL).toMatch(/^s3:\/\//);
      expect(new URL(env.S3_ENDPOINT!).hostname).toBe('object-store');
      expect(env.S3_SECRET_ACCESS_KEY).toBe(store.environment!.ROOT_SECRET_KEY);
      expect(services[name]!.depends_on!['object-store-bucket']).toEqual({ condition: 'service_completed_successfully' });
    }
  });

  it('gives the connector an environment its configuration accepts', () => {
    // ${VAR:-default} takes its default, ${VAR:?message} a stand-in value as an operator would set.
    const resolve = (value: string) =>
      value.replace(/\$\{(\w+)(?::-([^}]*)|:\?[^}]*)?\}/g, (_, name: string, fallback?: string) => fallback ?? (name === 'SECRETS_KEY' ? Buffer.alloc(32, 7).toString('base64') : `${name.toLowerCase()}-value`));
    for (const name of ['api', 'worker', 'object-store-bucket']) {
      const env = Object.fromEntries(Object.entries(services[name]!.environment!).map(([k, v]) => [k, resolve(String(v))]));
      const config = loadConfig(env);
      expect(config.s3, name).toMatchObject({ bucket: 'evidence', prefix: 'connector/', endpoint: 'http://object-store:7070', forcePathStyle: true });
      expect(config.s3!.credentials).toEqual({ accessKeyId: 'connector', secretAccessKey: 's3_secret_access_key-value' });
    }
  });

  it('registers exactly the search attributes the workflow uses', () => {
    const script = fs.readFileSync(path.join(PROJECT_ROOT, 'deploy/temporal/setup-namespace.sh'), 'utf8');
    const line = script.split('\n').find((l) => l.startsWith('for attr in'))!;
    const names = line.replace('for attr in', '').replace('; do', '').trim().split(/\s+/);
    expect(names.sort()).toEqual(RUN_SEARCH_ATTRIBUTES.map((k) => k.name).sort());
  });

  it('gives the image user a writable /data for the connector\'s volume', () => {
    const dockerfile = fs.readFileSync(path.join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
    const lines = dockerfile.split('\n');
    const user = lines.findIndex((l) => /^USER node\b/.test(l));
    const chown = lines.findIndex((l) => /mkdir -p \/data && chown node:node \/data/.test(l));
    expect(chown, 'the image creates /data for node').toBeGreaterThanOrEqual(0);
    expect(chown).toBeLessThan(user);
    for (const name of ['api', 'worker']) expect(services[name]!.volumes).toContain('connector-data:/data');
  });
});
