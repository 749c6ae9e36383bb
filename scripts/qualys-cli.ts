/**
 * Command line for people and scripts:
 *
 *   npm run --silent qualys -- summarize <file>
 *   npm run --silent qualys -- pull --base-url URL --user U --password-env VAR [filters] --out FILE
 *
 * Both print exactly one JSON summary on stdout. Progress and errors go to
 * stderr (one line per error, never the password); the exit code is 0 on
 * success, 1 on a failure, 2 on bad usage.
 */
import { createReadStream } from 'node:fs';
import { parseArgs } from 'node:util';
import { createQualysClient } from '../qualys/client.js';
import { readDetectionPage } from '../qualys/detection-page-reader.js';
import { hostListDetectionFiltersSchema, planHostListDetection, withResolvedHostIds } from '../qualys/hld-params.js';
import { summaryToJson } from '../qualys/page-summary.js';
import type { PullProgress } from '../qualys/pull.js';
import { DEFAULT_API_VERSION } from '../qualys/settings.js';
import { pullToFile } from './pull-to-file.js';

const HELP = `Usage:
  qualys summarize <file>
      Summarize a saved Host List Detection answer (XML or CSV, as Qualys sent it).

  qualys pull --base-url URL --user USER --password-env VAR --out FILE [filters]
      Pull every page of Host List Detection into one file.
      --base-url URL          platform name (US1, EU2, …) or API server URL
      --user USER             Qualys username
      --password-env VAR      name of the environment variable holding the password
      --out FILE              where to write the merged answer
      --api-version V         2.0, 3.0, 4.0 or 5.0 (default ${DEFAULT_API_VERSION})
      --page-size N           hosts per page (truncation_limit, default 1000)
    Filters:
      --ag-ids 1,2            asset group IDs (any of them)
      --search-list-id N      dynamic search list
      --format XML|CSV        answer format (default XML)
      --status New,Active     detection statuses (default: all but Fixed)
      --severities 3-5        severities, as a range or a list (3,4,5)
      --kernel 0-4            running-kernel filter
      --ips LIST              IPs and ranges, e.g. 10.0.0.1,10.0.1.0-10.0.1.255
      --max-days N            max days since the last VM scan
      --params JSON           extra Qualys parameters as a JSON object (ANDed)

Prints one JSON object: format, hosts, detections, severity, status, type,
minHostId, maxHostId, datetime, truncated, nextIdMin.
`;

class UsageError extends Error {}

function list(value: string | undefined): string[] | undefined {
  return value === undefined ? undefined : value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** Numbers stay numbers; anything else is passed on for the schema to reject by name. */
function numeric(value: string): number | string {
  return /^-?\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : value;
}

function severities(value: string | undefined): Array<number | string> | undefined {
  if (value === undefined) return undefined;
  const range = /^\s*(\d)\s*-\s*(\d)\s*$/.exec(value);
  if (range) {
    const [lo, hi] = [Number(range[1]), Number(range[2])];
    if (lo > hi) throw new UsageError(`--severities: "${value}" is a range whose start is after its end`);
    return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
  }
  return list(value)!.map(numeric);
}

function extraParams(value: string | undefined): unknown {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value);
  } catch (err) {
    throw new UsageError(`--params: not valid JSON (${(err as Error).message})`);
  }
}

async function summarize(args: string[]): Promise<void> {
  const { positionals } = parseArgs({ args, allowPositionals: true, options: {} });
  if (positionals.length !== 1) throw new UsageError('summarize takes exactly one file');
  const { summary } = await readDetectionPage(createReadStream(positionals[0]!, { highWaterMark: 1024 * 1024 }));
  process.stdout.write(`${JSON.stringify(summaryToJson(summary))}\n`);
}

function progressLine(started: number) {
  let last = 0;
  return (p: PullProgress, final = false) => {
    const now = Date.now();
    if (!final && now - last < 250) return;
    last = now;
    const mb = p.bytes / 1048576;
    const rate = mb / Math.max(0.001, (now - started) / 1000);
    const line = `pages ${p.pages} · hosts ${p.hosts} · detections ${p.detections} · ${mb.toFixed(1)} MB · ${rate.toFixed(1)} MB/s`;
    process.stderr.write(process.stderr.isTTY ? `\r${line}${final ? '\n' : ''}` : `${line}\n`);
  };
}

async function pull(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'base-url': { type: 'string' },
      user: { type: 'string' },
      'password-env': { type: 'string' },
      out: { type: 'string' },
      'api-version': { type: 'string' },
      'page-size': { type: 'string' },
      'ag-ids': { type: 'string' },
      'search-list-id': { type: 'string' },
      format: { type: 'string' },
      status: { type: 'string' },
      severities: { type: 'string' },
      kernel: { type: 'string' },
      ips: { type: 'string' },
      'max-days': { type: 'string' },
      params: { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  for (const required of ['base-url', 'user', 'password-env', 'out'] as const) {
    if (!values[required]) throw new UsageError(`--${required} is required`);
  }
  const password = process.env[values['password-env']!];
  if (!password) throw new UsageError(`--password-env: the environment variable ${values['password-env']} is not set`);

  const filterInput: Record<string, unknown> = {
    assetGroupIds: list(values['ag-ids'])?.map(numeric),
    searchListId: values['search-list-id'] === undefined ? undefined : numeric(values['search-list-id']),
    format: values.format?.toUpperCase(),
    statuses: list(values.status),
    severities: severities(values.severities),
    runningKernelFilter: values.kernel === undefined ? undefined : numeric(values.kernel),
    ips: values.ips,
    maxDaysSinceLastScan: values['max-days'] === undefined ? undefined : numeric(values['max-days']),
    extraParams: extraParams(values.params),
  };
  const parsed = hostListDetectionFiltersSchema.safeParse(Object.fromEntries(Object.entries(filterInput).filter(([, v]) => v !== undefined)));
  if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => i.message).join('; '));
  const apiVersion = values['api-version'] ?? DEFAULT_API_VERSION;
  const pageSize = values['page-size'] === undefined ? undefined : Number(values['page-size']);
  if (pageSize !== undefined && !Number.isInteger(pageSize)) throw new UsageError(`--page-size: "${values['page-size']}" is not a whole number`);

  const client = createQualysClient({
    apiBaseUrl: values['base-url']!,
    apiVersion: apiVersion as typeof DEFAULT_API_VERSION,
    username: values.user!,
    password,
  });
  const plan = planHostListDetection(parsed.data, { apiVersion: client.apiVersion, truncationLimit: pageSize });
  const controller = new AbortController();
  const stop = () => controller.abort(new Error('interrupted'));
  process.once('SIGINT', stop);
  const started = Date.now();
  const report = progressLine(started);
  try {
    // A list of IPv4 and IPv6 addresses becomes host IDs first (Qualys ANDs the two parameters).
    const found = [];
    for (const lookup of plan.addressLookups) found.push((await client.listHostIds(lookup, controller.signal)).ranges);
    const params = withResolvedHostIds(plan, found);
    const result = await pullToFile(client, { params, postFilter: plan.postFilter, out: values.out!, signal: controller.signal, onProgress: (p) => report(p) });
    report({ pages: result.pages.length, hosts: result.summary.hosts, detections: result.summary.detections, bytes: result.bytes }, true);
    process.stdout.write(`${JSON.stringify(summaryToJson(result.summary))}\n`);
  } finally {
    process.off('SIGINT', stop);
    await client.close();
  }
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    if (command === undefined || command === '--help' || command === '-h' || command === 'help' || args.includes('--help')) {
      process.stdout.write(HELP);
      return command === undefined ? 2 : 0;
    }
    if (command === 'summarize') await summarize(args);
    else if (command === 'pull') await pull(args);
    else throw new UsageError(`unknown command "${command}"; use summarize or pull (--help for details)`);
    return 0;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const usage = err instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'));
    const message = (err as Error).message ?? String(err);
    process.stderr.write(`qualys ${command ?? ''}: ${message.replace(/\s+/g, ' ').trim()}\n`);
    return usage ? 2 : 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
