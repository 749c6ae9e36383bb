/**
 * "+ Add new fetcher" and Edit: the Host List Detection and Custom tabs of
 * the product description. Pickers are filled from Qualys through the
 * connection; every field's error comes back from the API's problem
 * document and is shown beside the field; nothing is stored on error.
 */
import { enc, getAll, getJson, sendJson } from './api.js';
import { fill, h, link, problemBox, screenHead, uid } from './dom.js';
import { busy, checkedValues, choice, errorSlots, field, group, input, jsonObjectArea, numberOrText, select } from './forms.js';
import { multiSelect } from './pickers.js';
import { href } from './router.js';

const STATUSES = ['New', 'Active', 'Re-Opened', 'Fixed'];
const SEVERITIES = [
  ['5', '5 (urgent)'],
  ['4', '4 (critical)'],
  ['3', '3 (serious)'],
  ['2', '2 (medium)'],
  ['1', '1 (minimal)'],
];
/** The product's running-kernel options (Qualys arf_kernel_filter) and what each keeps. */
export const KERNEL_OPTIONS = [
  ['0', '0: no kernel filter'],
  ['1', '1: leave out kernel vulnerabilities found on kernels that are not running'],
  ['2', '2: only kernel vulnerabilities on kernels that are not running'],
  ['3', '3: only kernel vulnerabilities on the running kernel (exploitable)'],
  ['4', '4: only kernel-related vulnerabilities'],
];

/** An ARIA tab list: arrow keys move between tabs, each tab shows its panel. */
function tabs(items, selected, locked) {
  const list = h('div', { role: 'tablist', 'aria-label': 'Fetcher type', class: 'tabs' });
  const buttons = items.map(({ key, label, panel }) => {
    const tabId = uid('tab');
    panel.setAttribute('role', 'tabpanel');
    panel.setAttribute('aria-labelledby', tabId);
    panel.id = uid('panel');
    const button = h('button', { type: 'button', role: 'tab', id: tabId, 'aria-controls': panel.id, 'data-kind': key, disabled: locked && key !== selected }, label);
    return button;
  });
  const choose = (key, focus = false) => {
    items.forEach((item, i) => {
      const on = item.key === key;
      buttons[i].setAttribute('aria-selected', String(on));
      buttons[i].tabIndex = on ? 0 : -1;
      item.panel.hidden = !on;
      if (on && focus) buttons[i].focus();
    });
    list.dataset.selected = key;
  };
  buttons.forEach((button, i) => {
    button.addEventListener('click', () => choose(items[i].key));
    button.addEventListener('keydown', (event) => {
      const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
      if (!step || locked) return;
      event.preventDefault();
      choose(items[(i + step + items.length) % items.length].key, true);
    });
  });
  list.append(...buttons);
  choose(selected);
  return { list, selected: () => list.dataset.selected };
}

export async function renderFetcherForm(content, ctx) {
  const editing = ctx.params.id ? await getJson(`/v1/fetchers/${enc(ctx.params.id)}`) : null;
  const connections = (await getAll('/v1/connections?limit=100')).filter((c) => c.status !== 'disconnected' || c.id === editing?.connectionId);
  if (connections.length === 0) {
    fill(content, screenHead('Add new fetcher'), h('p', {}, 'Connect Qualys first: ', link('#/connections', 'Connections'), '.'));
    return;
  }
  const initialConnection = editing?.connectionId ?? ctx.query.get('connection') ?? connections[0].id;
  const summary = h('div', { 'aria-live': 'polite' });

  const connection = field(
    'Qualys connection',
    select(connections.map((c) => [c.id, `${c.name} (API ${c.apiVersion})`]), initialConnection),
    editing ? 'A fetcher stays on the connection it was created on.' : null,
  );
  if (editing) connection.control.disabled = true;
  const name = field('Name', input({ value: editing?.name ?? '', autocomplete: 'off' }), 'Required: how people find this fetcher when they map it to controls and run it.');

  const hld = hldFields(editing?.filters ?? null, editing?.pageSize ?? 1000);
  const custom = customFields(editing?.request ?? null);
  const kinds = tabs(
    [
      { key: 'host_list_detection', label: 'Host List Detection', panel: hld.panel },
      { key: 'custom', label: 'Custom', panel: custom.panel },
    ],
    editing?.kind ?? 'host_list_detection',
    Boolean(editing),
  );

  const connectionOf = () => connections.find((c) => c.id === connection.control.value);
  const loadPickers = () => hld.loadPickers(connectionOf(), ctx);
  connection.control.addEventListener('change', loadPickers);

  // A function: the asset group picker is rebuilt when the connection changes.
  const errors = errorSlots(summary, () => ({ connectionId: connection, name, kind: connection, ...hld.slots, ...custom.slots }));
  const submit = h('button', { type: 'submit', class: 'primary' }, editing ? 'Save changes' : 'Create');
  const form = h(
    'form',
    { class: 'stack fetcher-form', novalidate: true },
    connection,
    name,
    kinds.list,
    hld.panel,
    custom.panel,
    summary,
    h('div', { class: 'actions' }, submit, link(editing ? href('fetchers', editing.id) : href('fetchers'), 'Cancel')),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void busy(submit, async () => {
      errors.clear();
      const kind = kinds.selected();
      const parts = kind === 'custom' ? custom.read(errors) : hld.read(errors);
      if (!parts) return;
      try {
        const saved = editing
          ? await sendJson('PATCH', `/v1/fetchers/${enc(editing.id)}`, { name: name.control.value, ...parts })
          : await sendJson('POST', '/v1/fetchers', { kind, connectionId: connection.control.value, name: name.control.value, ...parts });
        ctx.navigate(href('fetchers', saved.id));
      } catch (err) {
        errors.show(err);
      }
    });
  });
  fill(content, screenHead(editing ? `Edit ${editing.name}` : 'Add new fetcher'), form);
  await loadPickers();
}

function hldFields(filters, pageSize) {
  const f = filters ?? {};
  const groupsBox = h('div', { class: 'picker-slot' }, h('p', { class: 'loading' }, 'Loading asset groups from Qualys…'));
  const searchList = field('Dynamic search list', select([['', 'None']], ''), 'One of the dynamic search lists defined in Qualys (its QIDs filter the detections).');
  const format = group(
    'Format',
    [choice('radio', 'format', 'XML', 'XML', (f.format ?? 'XML') === 'XML'), choice('radio', 'format', 'CSV', 'CSV', f.format === 'CSV')],
    'The file attached as evidence. XML keeps Qualys\'s hierarchy and is easier to parse; CSV is one row per detection.',
  );
  const ticked = f.statuses?.length ? f.statuses : ['New', 'Active', 'Re-Opened'];
  const statuses = group(
    'Vulnerability status',
    STATUSES.map((s) => choice('checkbox', 'statuses', s, s, ticked.includes(s))),
    'Fixed is unticked by default, as in Qualys: a fixed detection is no longer an open risk. Tick it to show remediation too.',
  );
  const severities = group(
    'Severities',
    SEVERITIES.map(([v, label]) => choice('checkbox', 'severities', v, label, (f.severities ?? []).includes(Number(v)))),
    'Only detections of the ticked severities; none ticked means all.',
  );
  const kernel = field('Running kernels', select(KERNEL_OPTIONS, String(f.runningKernelFilter ?? 0)), 'Filters Linux kernel vulnerabilities by whether the kernel is running, i.e. by exploitability.');
  const ips = field('IP addresses', input({ value: f.ips ?? '', autocomplete: 'off', spellcheck: 'false' }), 'Comma-separated; ranges with a hyphen, e.g. 10.10.10.1-10.10.10.100. IPv6 addresses one by one.');
  const maxDays = field('Max days since last scanned', input({ inputmode: 'numeric', value: f.maxDaysSinceLastScan ?? '', autocomplete: 'off' }), 'Only hosts scanned within this many days.');
  const jsonStatus = h('p', { class: 'json-status', 'aria-live': 'polite' });
  const extra = field('Parameters (JSON)', jsonObjectArea(f.extraParams, jsonStatus), 'More Host List Detection parameters as a JSON object, e.g. {"show_igs": 1}. All filters combine with AND: a detection must match every one.');
  extra.insertBefore(jsonStatus, extra.error);
  const size = field('Page size', input({ inputmode: 'numeric', value: pageSize, autocomplete: 'off' }), 'Hosts per Qualys page (truncation_limit); 1000 suits most accounts.');

  let groupPicker = null;
  const kernelHint = h('p', { class: 'hint' });
  kernel.insertBefore(kernelHint, kernel.error);

  const panel = h('div', { class: 'panel-body' }, groupsBox, searchList, format, statuses, severities, kernel, ips, maxDays, extra, size);
  const slots = {
    'filters.searchListId': searchList,
    'filters.format': format,
    'filters.statuses': statuses,
    'filters.severities': severities,
    'filters.runningKernelFilter': kernel,
    'filters.ips': ips,
    'filters.maxDaysSinceLastScan': maxDays,
    'filters.extraParams': extra,
    filters: extra,
    pageSize: size,
  };

  async function loadPickers(connection, ctx) {
    // Every option works on every API version: from 3.0 on, option 4 is ARF data the connector filters.
    const v2 = connection.apiVersion === '2.0';
    kernelHint.textContent = v2
      ? 'Qualys API 2.0 applies the filter itself (arf_kernel_filter).'
      : `On Qualys API ${connection.apiVersion} options 1 and 4 ask for ARF data; for option 4 the connector keeps only the kernel-related detections of each page.`;
    fill(groupsBox, h('p', { class: 'loading' }, 'Loading asset groups and search lists from Qualys…'));
    const [groups, lists] = await Promise.allSettled([
      getJson(`/v1/connections/${enc(connection.id)}/asset-groups`),
      getJson(`/v1/connections/${enc(connection.id)}/search-lists`),
    ]);
    if (!ctx.current()) return;
    if (groups.status === 'fulfilled') {
      groupPicker = multiSelect({
        legend: 'Asset groups',
        hint: 'Hosts in any of the ticked groups (OR). None ticked: every host the API user may see.',
        items: groups.value.items.map((g) => ({ value: g.id, label: g.title, detail: `(id ${g.id})` })),
        selected: f.assetGroupIds ?? [],
        filterLabel: 'Filter asset groups',
      });
      slots['filters.assetGroupIds'] = groupPicker;
      fill(groupsBox, groupPicker);
    } else {
      groupPicker = null;
      fill(groupsBox, h('p', {}, 'Asset groups could not be read from Qualys:'), problemBox(groups.reason));
    }
    const selectEl = searchList.control;
    const current = selectEl.value || String(f.searchListId ?? '');
    fill(selectEl, h('option', { value: '' }, 'None'));
    if (lists.status === 'fulfilled') {
      for (const l of lists.value.items) selectEl.append(h('option', { value: l.id, selected: String(l.id) === current }, `${l.title} (id ${l.id})`));
    } else {
      searchList.error.textContent = `Search lists could not be read from Qualys: ${lists.reason.message}`;
      searchList.error.hidden = false;
    }
  }

  function read(errors) {
    let extraParams;
    try {
      extraParams = extra.control.read();
    } catch (err) {
      errors.local('filters.extraParams', err.message);
      return null;
    }
    const filters = {
      assetGroupIds: groupPicker ? groupPicker.values().map(Number) : (f.assetGroupIds ?? []),
      format: checkedValues(format, 'format')[0] ?? 'XML',
      statuses: checkedValues(statuses, 'statuses'),
      severities: checkedValues(severities, 'severities').map(Number),
      runningKernelFilter: Number(kernel.control.value),
      extraParams,
    };
    if (searchList.control.value) filters.searchListId = Number(searchList.control.value);
    if (ips.control.value.trim()) filters.ips = ips.control.value;
    const days = numberOrText(maxDays.control.value);
    if (days !== undefined) filters.maxDaysSinceLastScan = days;
    const parts = { filters };
    const pages = numberOrText(size.control.value);
    if (pages !== undefined) parts.pageSize = pages;
    return parts;
  }

  return { panel, slots, loadPickers, read };
}

function customFields(request) {
  const r = request ?? {};
  const method = field('Method', select([['POST', 'POST'], ['GET', 'GET']], r.method ?? 'POST'), 'As the Qualys API documentation gives it for the call.');
  const endpoint = field(
    'Endpoint',
    input({ value: r.endpoint ?? '', placeholder: '/api/2.0/fo/scan/?action=list', autocomplete: 'off', spellcheck: 'false' }),
    'A path on the connection\'s Qualys API server (never a full URL), e.g. /api/2.0/fo/scan/?action=list.',
  );
  const jsonStatus = h('p', { class: 'json-status', 'aria-live': 'polite' });
  const params = field('Parameters (JSON)', jsonObjectArea(r.params, jsonStatus), 'The call\'s parameters as a JSON object, e.g. {"state": "Finished"}. The connection supplies the credentials.');
  params.insertBefore(jsonStatus, params.error);
  const panel = h('div', { class: 'panel-body' }, h('p', { class: 'hint' }, 'Any Qualys API call: for people who know the Qualys API. Answers are stored as Qualys sent them; paged XML lists are followed to the end.'), method, endpoint, params);
  const slots = { 'request.method': method, 'request.endpoint': endpoint, 'request.params': params, request: endpoint };
  function read(errors) {
    let values;
    try {
      values = params.control.read();
    } catch (err) {
      errors.local('request.params', err.message);
      return null;
    }
    return { request: { method: method.control.value, endpoint: endpoint.control.value, params: values } };
  }
  return { panel, slots, read };
}
