import { describe, expect, it } from 'vitest';
import { customRequestParams, customRequestSchema } from '../qualys/custom-request.js';
import { endpointPathProblem } from '../qualys/endpoint-path.js';
import {
  buildHostListDetectionParams,
  hostListDetectionFiltersSchema,
  HostListDetectionParamsError,
  planHostListDetection,
  withResolvedHostIds,
  type HostListDetectionFiltersInput,
} from '../qualys/hld-params.js';
import { isLoopbackHost, platformOfUrl, resolveApiBaseUrl } from '../qualys/platforms.js';
import { DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_FIRST_BYTE_TIMEOUT_MS, DEFAULT_IDLE_TIMEOUT_MS, qualysConnectionSettingsSchema, resolveTimeouts } from '../qualys/settings.js';
import { decodeXmlEntities, idMinFromUrl, nextIdMinFromUrl } from '../qualys/truncation.js';

const build = (input: HostListDetectionFiltersInput, apiVersion = '5.0', truncationLimit?: number) =>
  buildHostListDetectionParams(hostListDetectionFiltersSchema.parse(input), { apiVersion, truncationLimit });

/** The zod messages for an input, which must name the field and the reason. */
const problems = (input: unknown) => {
  const result = hostListDetectionFiltersSchema.safeParse(input);
  expect(result.success).toBe(false);
  return result.error!.issues.map((i) => i.message);
};

const plan = (input: HostListDetectionFiltersInput, apiVersion = '5.0') =>
  planHostListDetection(hostListDetectionFiltersSchema.parse(input), { apiVersion, truncationLimit: 100 });

describe('Host List Detection plans (what makes every field work on every API version)', () => {
  it('needs nothing extra for ordinary filters: the parameters equal the plain build', () => {
    const input: HostListDetectionFiltersInput = { severities: [4, 5], ips: '10.0.0.1-10.0.0.9', runningKernelFilter: 2 };
    expect(plan(input)).toEqual({ params: build(input, '5.0', 100), addressLookups: [], postFilter: null });
    expect(plan({ ips: '2001:db8::1, 2001:db8::2' })).toMatchObject({ params: { ipv6: '2001:db8::1,2001:db8::2' }, addressLookups: [] });
  });

  it('runs option 4 (only kernel-related) on API 3.0+ as show_arf_data plus the client-side kernel filter; 2.0 keeps its parameter', () => {
    for (const version of ['3.0', '4.0', '5.0']) {
      const p = plan({ runningKernelFilter: 4 }, version);
      expect(p.params).toEqual({ action: 'list', output_format: 'XML', truncation_limit: '100', show_arf_data: '1' });
      expect(p.postFilter).toBe('kernel-related');
    }
    expect(plan({ runningKernelFilter: 4 }, '2.0')).toMatchObject({ params: { arf_kernel_filter: '4' }, postFilter: null });
  });

  it('looks mixed IPv4/IPv6 lists up per family and sends the merged host IDs instead (Qualys ANDs ips and ipv6)', () => {
    const p = plan({ ips: '10.0.0.1-10.0.0.5, 2001:db8::1, 10.0.1.7, 2001:db8::a', severities: [5] });
    expect(p.addressLookups).toEqual([{ ips: '10.0.0.1-10.0.0.5,10.0.1.7' }, { ipv6: '2001:db8::1,2001:db8::a' }]);
    expect(p.params.ips).toBeUndefined();
    expect(p.params.ipv6).toBeUndefined();
    // One range list per lookup; a host found by both appears once.
    expect(withResolvedHostIds(p, [[[7, 7], [10, 12]], [[11, 11], [13, 13], [40, 41]]])).toEqual({ ...p.params, ids: '7,10-13,40-41' });
    // No host matched: the IPv4 part alone, so Qualys itself answers the empty result (never an unfiltered one).
    expect(withResolvedHostIds(p, [[], []])).toEqual({ ...p.params, ips: '10.0.0.1-10.0.0.5,10.0.1.7' });
    expect(withResolvedHostIds(plan({}), [[[1, 2]]])).toEqual(plan({}).params);
  });
});

describe('Host List Detection parameters', () => {
  it('defaults to XML with Qualys’s own defaults for everything else', () => {
    expect(build({})).toEqual({ action: 'list', output_format: 'XML' });
    expect(build({}, '5.0', 500)).toEqual({ action: 'list', output_format: 'XML', truncation_limit: '500' });
  });

  it('maps every field to its Qualys parameter', () => {
    expect(
      build({
        assetGroupIds: [30, 12, 12],
        searchListId: 7,
        format: 'CSV',
        statuses: ['Fixed', 'New'],
        severities: [5, 3, 4],
        runningKernelFilter: 0,
        ips: ' 10.0.0.1, 10.0.1.0-10.0.1.255 ,fe80::1',
        maxDaysSinceLastScan: 30,
        extraParams: { show_igs: true, qids: '38170,38171', show_qds: 1 },
      }),
    ).toEqual({
      action: 'list',
      output_format: 'CSV',
      ag_ids: '12,30',
      include_search_list_ids: '7',
      status: 'New,Fixed',
      severities: '3,4,5',
      ips: '10.0.0.1,10.0.1.0-10.0.1.255',
      ipv6: 'fe80::1',
      max_days_since_last_vm_scan: '30',
      show_igs: '1',
      qids: '38170,38171',
      show_qds: '1',
    });
  });

  it('maps the running-kernel filter per API version', () => {
    expect(build({ runningKernelFilter: 2 }, '2.0')).toMatchObject({ arf_kernel_filter: '2' });
    expect(build({ runningKernelFilter: 4 }, '2.0')).toMatchObject({ arf_kernel_filter: '4' });
    expect(build({ runningKernelFilter: 1 }, '5.0')).toEqual({ action: 'list', output_format: 'XML', show_arf_data: '1', arf_filter_keys: 'non-running-kernel' });
    for (const mode of [2, 3]) {
      expect(build({ runningKernelFilter: mode }, '5.0')).toEqual({ action: 'list', output_format: 'XML', active_kernels_only: String(mode) });
    }
    // Option 4 needs the client-side filter, which only the plan carries.
    expect(() => build({ runningKernelFilter: 4 }, '3.0')).toThrow(HostListDetectionParamsError);
    expect(() => build({ runningKernelFilter: 4 }, '3.0')).toThrow(/runningKernelFilter: 4 .* client-side kernel filter/);
    expect(() => build({ extraParams: { arf_service_filter: 1 } }, '5.0')).toThrow(/"arf_service_filter" exists only on Qualys API 2.0/);
    expect(() => build({ extraParams: { show_arf_data: 1 } }, '2.0')).toThrow(/"show_arf_data" exists only from Qualys API 3.0 on/);
  });

  it('refuses extra parameters that conflict with a field, that the client controls, or that do not exist', () => {
    expect(problems({ assetGroupIds: [1], extraParams: { ag_ids: '2' } })).toContain('extraParams: "ag_ids" conflicts with the assetGroupIds field; use that field instead');
    expect(problems({ assetGroupIds: [1], extraParams: { ag_titles: 'DMZ' } })).toContain('extraParams: "ag_titles" cannot be combined with the assetGroupIds field');
    expect(problems({ maxDaysSinceLastScan: 3, extraParams: { vm_scan_since: '2026-01-01' } })).toContain(
      'extraParams: "vm_scan_since" cannot be combined with the maxDaysSinceLastScan field',
    );
    expect(problems({ extraParams: { status: 'Fixed' } })).toContain('extraParams: "status" conflicts with the statuses field; use that field instead');
    expect(problems({ extraParams: { output_format: 'CSV_NO_METADATA' } })[0]).toMatch(/"output_format" is set by the connector .* use the format field/);
    for (const key of ['action', 'truncation_limit', 'id_min', 'id_max']) expect(problems({ extraParams: { [key]: '1' } })[0]).toContain(`"${key}" is set by the connector`);
    expect(problems({ extraParams: { drop_tables: 1 } })).toEqual(['extraParams: "drop_tables" is not a Host List Detection parameter']);
    expect(problems({ extraParams: { qids: { nested: true } } })[0]).toContain('extraParams');
    // Without the conflicting field, the alternative parameter is fine.
    expect(build({ extraParams: { ag_titles: 'DMZ' } })).toMatchObject({ ag_titles: 'DMZ' });
  });

  it.each([
    ['10.0.0.9-10.0.0.1', 'ips: "10.0.0.9-10.0.0.1" is a range whose start is after its end'],
    ['10.0.0.300', 'ips: "10.0.0.300" is not an IPv4 or IPv6 address'],
    ['10.0.0.1,,10.0.0.2', 'ips: has an empty entry (check the commas)'],
    ['fe80::1-fe80::9', 'ips: "fe80::1-fe80::9": IPv6 ranges are not supported, list IPv6 addresses one by one'],
    ['10.0.0.1-banana', 'ips: "10.0.0.1-banana" is not an IPv4 range like 10.0.0.1-10.0.0.100'],
    ['10.0.0.0/24', 'ips: "10.0.0.0/24" is not an IPv4 or IPv6 address'],
  ])('refuses ips %s with a message naming the field and the reason', (ips, message) => {
    expect(problems({ ips })).toEqual([message]);
  });

  it.each([
    [{ severities: [0] }, 'severities: each must be from 1 to 5'],
    [{ severities: [6] }, 'severities: each must be from 1 to 5'],
    [{ statuses: ['Closed'] }, 'statuses: each must be one of New, Active, Re-Opened, Fixed'],
    [{ runningKernelFilter: 5 }, 'runningKernelFilter: must be from 0 to 4'],
    [{ runningKernelFilter: 1.5 }, 'runningKernelFilter: must be a whole number from 0 to 4'],
    [{ assetGroupIds: [-1] }, 'assetGroupIds: must be a positive ID'],
    [{ searchListId: 'abc' }, 'searchListId: must be a number'],
    [{ format: 'CSV_NO_METADATA' }, 'format: must be one of XML, CSV'],
    [{ maxDaysSinceLastScan: 0 }, 'maxDaysSinceLastScan: must be at least 1'],
  ])('refuses %j with a message naming the field', (input, message) => {
    expect(problems(input)).toContain(message);
  });

  it('refuses unknown fields and a bad page size', () => {
    expect(problems({ name: 'x' }).join(' ')).toMatch(/name/);
    expect(() => build({}, '5.0', 0)).toThrow(/truncationLimit: must be a whole number of hosts from 1 to 1000000/);
  });
});

describe('platforms and base URLs', () => {
  it('resolves platform names case-insensitively and accepts https URLs', () => {
    expect(resolveApiBaseUrl('us2').origin).toBe('https://qualysapi.qg2.apps.qualys.com');
    expect(resolveApiBaseUrl('GOV1').origin).toBe('https://qualysapi.gov1.qualys.us');
    expect(resolveApiBaseUrl('https://qualysapi.private.example.com/').toString()).toBe('https://qualysapi.private.example.com/');
    expect(platformOfUrl('https://qualysapi.qualys.eu')).toBe('EU1');
    expect(platformOfUrl('https://qualysapi.private.example.com')).toBeNull();
  });

  it('allows plain http only on loopback', () => {
    for (const url of ['http://127.0.0.1:9443', 'http://127.8.9.10', 'http://[::1]:8080', 'http://localhost:1']) expect(() => resolveApiBaseUrl(url)).not.toThrow();
    expect(() => resolveApiBaseUrl('http://qualysapi.qualys.com')).toThrow('apiBaseUrl: plain http:// is only allowed for loopback hosts (127.0.0.1, ::1, localhost); use https:// for qualysapi.qualys.com');
    expect(() => resolveApiBaseUrl('http://10.0.0.1')).toThrow(/only allowed for loopback/);
    expect(() => resolveApiBaseUrl('http://127.0.0.1.evil.com')).toThrow(/only allowed for loopback/);
    expect(isLoopbackHost('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackHost('128.0.0.1')).toBe(false);
  });

  it('refuses other inputs with a message naming the field', () => {
    expect(() => resolveApiBaseUrl('')).toThrow(/^apiBaseUrl: is empty/);
    expect(() => resolveApiBaseUrl('mars1')).toThrow(/^apiBaseUrl: "mars1" is neither a Qualys platform name/);
    expect(() => resolveApiBaseUrl('ftp://qualysapi.qualys.com')).toThrow(/^apiBaseUrl: protocol ftp: is not supported/);
    expect(() => resolveApiBaseUrl('https://user:pw@qualysapi.qualys.com')).toThrow(/^apiBaseUrl: must not contain credentials/);
    expect(() => resolveApiBaseUrl('https://qualysapi.qualys.com/?x=1')).toThrow(/must not contain a query/);
  });

  it('validates connection settings, with long default timeouts, never echoing the password', () => {
    const settings = qualysConnectionSettingsSchema.parse({ apiBaseUrl: 'us1', username: 'acme_ab1', password: 's3cret!' });
    expect(settings).toMatchObject({ apiBaseUrl: 'https://qualysapi.qualys.com', apiVersion: '5.0' });
    expect(resolveTimeouts(undefined)).toEqual({ connectMs: DEFAULT_CONNECT_TIMEOUT_MS, firstByteMs: DEFAULT_FIRST_BYTE_TIMEOUT_MS, idleMs: DEFAULT_IDLE_TIMEOUT_MS });
    expect(DEFAULT_FIRST_BYTE_TIMEOUT_MS).toBeGreaterThanOrEqual(5 * 60_000);

    const bad = qualysConnectionSettingsSchema.safeParse({ apiBaseUrl: 'http://example.com', username: '', password: 'hunter2-secret', apiVersion: '1.0', proxyUrl: 'socks://x' });
    expect(bad.success).toBe(false);
    const messages = bad.error!.issues.map((i) => i.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^apiBaseUrl: plain http:\/\//),
        'username: must not be empty',
        'apiVersion: must be one of 2.0, 3.0, 4.0, 5.0',
        'proxyUrl: must be an http:// or https:// URL',
      ]),
    );
    expect(JSON.stringify(bad.error)).not.toContain('hunter2-secret');
  });
});

describe('truncation URLs and custom endpoint paths', () => {
  it('takes id_min from a truncation URL on the connection’s own host only', () => {
    const url = 'https://qualysapi.qualys.com/api/5.0/fo/asset/host/vm/detection/?action=list&amp;truncation_limit=100&amp;id_min=4711';
    expect(decodeXmlEntities(url)).toContain('&id_min=4711');
    expect(idMinFromUrl(url)).toBe(4711);
    expect(nextIdMinFromUrl(url, 'https://qualysapi.qualys.com')).toBe(4711);
    expect(() => nextIdMinFromUrl(url.replace('qualysapi.qualys.com', 'evil.example.com'), 'https://qualysapi.qualys.com')).toThrow(/points to https:\/\/evil.example.com/);
    expect(() => nextIdMinFromUrl('https://qualysapi.qualys.com/api/?action=list', 'https://qualysapi.qualys.com')).toThrow(/no usable id_min/);
    expect(() => nextIdMinFromUrl('not a url', 'https://qualysapi.qualys.com')).toThrow(/not a valid URL/);
  });

  it.each([
    ['/api/2.0/fo/scan/?action=list', null],
    ['/api/2.0/fo/report/?action=list&state=Finished', null],
    ['https://evil.example.com/api/2.0/fo/scan/', /must be a path starting with "\/", not a URL/],
    ['//evil.example.com/api/', /must not start with "\/\/"/],
    ['/api/2.0/../../etc/passwd', /must not contain "\." or "\.\." segments/],
    ['/api/2.0/%2e%2e/x', /encoded dots/],
    ['/api/2.0/fo/scan/\\..\\x', /backslashes/],
    ['/api/2.0/fo/scan/ x', /spaces/],
    ['', /is empty/],
  ])('endpoint path %s', (path, problem) => {
    const found = endpointPathProblem(path);
    if (problem == null) expect(found).toBeNull();
    else expect(found).toMatch(problem);
  });
});

describe('custom fetcher requests', () => {
  it('accepts a path with parameters and turns values into Qualys text', () => {
    const request = customRequestSchema.parse({ method: 'GET', endpoint: '/api/2.0/fo/scan/?action=list', params: { state: 'Finished', show_ags: true, limit: 5 } });
    expect(customRequestParams(request)).toEqual({ state: 'Finished', show_ags: '1', limit: '5' });
    expect(customRequestSchema.parse({ endpoint: '/api/2.0/fo/report/' }).method).toBe('POST');
  });

  it.each([
    [{ endpoint: 'https://evil.example.com/api/' }, /^endpoint: .* not a URL/],
    [{ endpoint: '/api/2.0/fo/session/' }, /^endpoint: session login\/logout calls are not allowed/],
    [{ endpoint: '/api/2.0/fo/scan/', params: { password: 'x' } }, /^params: "password" looks like a credential/],
    [{ endpoint: '/api/2.0/fo/scan/', params: { id_min: 5 } }, /^params: "id_min" is set by the connector/],
    [{ endpoint: '/api/2.0/fo/scan/', method: 'DELETE' }, /^method: must be GET or POST/],
  ])('refuses %j naming the field', (input, message) => {
    const result = customRequestSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error!.issues.map((i) => i.message)).toContainEqual(expect.stringMatching(message));
  });
});
