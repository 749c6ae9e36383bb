import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type SimulatorHandle } from '../simulator/server.js';
import { HLD_PATH, basic, call, readHldXml, simpleReturn } from './simulator-support.js';

describe('simulator: errors and authentication', () => {
  let sim: SimulatorHandle;
  beforeAll(async () => {
    sim = await startSimulator({
      hosts: 50,
      now: '2026-01-10T00:00:00Z',
      users: [
        { username: 'demo', password: 'demo-pass', role: 'Manager' },
        { username: 'reader', password: 'reader-pass', role: 'Reader' },
        { username: 'auditor', password: 'auditor-pass', role: 'Auditor' },
        { username: 'expired', password: 'expired-pass', role: 'Manager', status: 'expired' },
        { username: 'inactive', password: 'inactive-pass', role: 'Manager', status: 'inactive' },
        { username: 'newbie', password: 'newbie-pass', role: 'Scanner', status: 'pending_registration' },
        { username: 'token', password: 'token-pass', role: 'Scanner', status: 'securid_required' },
        { username: 'nolicense', password: 'nolicense-pass', role: 'Scanner', status: 'unlicensed' },
      ],
    });
  });
  afterAll(() => sim.close());

  /**
   * Checks status and code, and the shape Qualys gives each kind of error:
   * parameter errors as application/xml with the limit headers; login and
   * account errors as text/xml;charset=UTF-8 without an XML declaration and
   * without limit headers. No SIMPLE_RETURN carries the confidentiality comment.
   */
  async function expectError(res: Response, status: number, code: number): Promise<{ text: string; items: Record<string, string> }> {
    expect(res.status).toBe(status);
    const account = code >= 2000 && code < 2100;
    expect(res.headers.get('content-type')).toBe(account ? 'text/xml;charset=UTF-8' : 'application/xml');
    expect(res.headers.get('x-ratelimit-limit') === null).toBe(account);
    expect(res.headers.get('x-concurrency-limit-limit') === null).toBe(account);
    const xml = await res.text();
    expect(xml.startsWith('<?xml ')).toBe(!account);
    expect(xml).not.toContain('CONFIDENTIAL');
    const body = simpleReturn(xml);
    expect(body.code).toBe(code);
    return body;
  }

  describe('parameters', () => {
    it('1901 for an unknown parameter, naming it and listing the allowed ones', async () => {
      const { text } = await expectError(await call(sim, HLD_PATH, { action: 'list', search_list_ids: '1' }), 400, 1901);
      // Qualys's wording: the unknown names, then the allowed ones in parentheses.
      expect(text).toMatch(/^Unrecognized parameter\(s\): search_list_ids \(action=list allows: echo_request, .*\)$/);
      expect(text).toContain('include_search_list_ids');
      expect(text).toContain('truncation_limit');
    });

    it('1901 for arf_kernel_filter after API 2.0, and for show_arf_data on 2.0', async () => {
      await expectError(await call(sim, HLD_PATH, { action: 'list', arf_kernel_filter: '1' }), 400, 1901);
      await expectError(await call(sim, '/api/2.0/fo/asset/host/vm/detection/', { action: 'list', show_arf_data: '1' }), 400, 1901);
    });

    it('1903 when action is missing', async () => {
      const { text } = await expectError(await call(sim, HLD_PATH, { truncation_limit: '5' }), 400, 1903);
      expect(text).toBe('Missing required parameter(s): action');
    });

    it.each([
      ['truncation_limit', 'many'],
      ['truncation_limit', '1000001'],
      ['severities', '0-3'],
      ['severities', '5-3'],
      ['status', 'Open'],
      ['ips', '10.0.0.300'],
      ['ips', '10.0.0.9-10.0.0.1'],
      ['ids', 'abc'],
      ['ag_ids', '999999'],
      ['include_search_list_ids', '1'],
      ['output_format', 'JSON'],
      ['show_results', 'yes'],
      ['max_days_since_last_vm_scan', '-1'],
      ['vm_scan_since', '01/02/2025'],
      ['os_pattern', '(unclosed'],
      ['action', 'purge'],
    ])('1905 for %s=%s, naming the parameter and value', async (name, value) => {
      const { text } = await expectError(await call(sim, HLD_PATH, { action: 'list', [name]: value }), 400, 1905);
      expect(text).toContain(`parameter ${name} has invalid value: ${value}`);
    });

    it.each([
      [{ ag_ids: '1', ag_titles: 'x' }, 'ag_ids, ag_titles'],
      [{ max_days_since_last_vm_scan: '3', vm_scan_since: '2025-01-01' }, 'max_days_since_last_vm_scan, vm_scan_since'],
      [{ max_days_since_last_vm_scan: '3', no_vm_scan_since: '2025-01-01' }, 'max_days_since_last_vm_scan, no_vm_scan_since'],
    ])('1904 for exclusive parameters %o', async (params, names) => {
      const { text } = await expectError(await call(sim, HLD_PATH, { action: 'list', ...params }), 400, 1904);
      expect(text).toBe(`Please specify only one of these parameters: ${names}`);
    });

    it('1908 for methods other than GET and POST', async () => {
      const res = await fetch(`${sim.url}${HLD_PATH}?action=list`, { method: 'PUT', headers: { Authorization: basic(), 'X-Requested-With': 't' } });
      await expectError(res, 400, 1908);
    });

    it('404 for an unknown path', async () => {
      const res = await fetch(`${sim.url}/api/5.0/fo/nothing/here/?action=list`, { headers: { Authorization: basic(), 'X-Requested-With': 't' } });
      expect(res.status).toBe(404);
      expect((await fetch(`${sim.url}/api/1.0/fo/asset/host/vm/detection/`)).status).toBe(404);
    });
  });

  describe('authentication', () => {
    it('refuses a call without X-Requested-With (400, 1903 naming the header)', async () => {
      const res = await fetch(`${sim.url}${HLD_PATH}?action=list`, { headers: { Authorization: basic() } });
      const { text } = await expectError(res, 400, 1903);
      expect(text).toContain('X-Requested-With');
    });

    it('answers 401 with 2000 for bad or missing credentials', async () => {
      await expectError(await call(sim, HLD_PATH, { action: 'list' }, { password: 'wrong' }), 401, 2000);
      await expectError(await call(sim, HLD_PATH, { action: 'list' }, { user: 'nobody', password: 'x' }), 401, 2000);
      const anonymous = await fetch(`${sim.url}${HLD_PATH}?action=list`, { headers: { 'X-Requested-With': 't' } });
      const { text } = await expectError(anonymous, 401, 2000);
      expect(text).toBe('Bad Login/Password');
    });

    it('answers an expired account with HTTP 200 and code 2001 in Qualys’s words', async () => {
      const { text } = await expectError(await call(sim, HLD_PATH, { action: 'list' }, { user: 'expired', password: 'expired-pass' }), 200, 2001);
      expect(text).toBe('This account has expired.');
    });

    it.each([
      ['inactive', 2002],
      ['newbie', 2003],
      ['token', 2011],
      ['nolicense', 2012],
    ])('answers account state of %s with 403 and %i', async (user, code) => {
      await expectError(await call(sim, HLD_PATH, { action: 'list' }, { user, password: `${user}-pass` }), 403, code);
    });

    it('refuses Host List Detection to an Auditor (403, 2012 naming the role) but lets it list asset groups', async () => {
      const { text } = await expectError(await call(sim, HLD_PATH, { action: 'list' }, { user: 'auditor', password: 'auditor-pass' }), 403, 2012);
      expect(text).toContain('Auditor');
      const groups = await call(sim, '/api/2.0/fo/asset/group/', { action: 'list', truncation_limit: '1' }, { user: 'auditor', password: 'auditor-pass' });
      expect(groups.status).toBe(200);
    });

    it('lets a Reader pull Host List Detection', async () => {
      const res = await call(sim, HLD_PATH, { action: 'list', truncation_limit: '3' }, { user: 'reader', password: 'reader-pass' });
      expect(res.status).toBe(200);
      expect(readHldXml(await res.text()).hosts).toHaveLength(3);
    });
  });
});
