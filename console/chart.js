/**
 * Detections by severity and status as an inline SVG bar chart (one stacked
 * bar per severity), with the same numbers in a table: the chart is a
 * picture of the table, never the only place a number is.
 */
import { h, svg, table, uid } from './dom.js';

const SEVERITIES = ['5', '4', '3', '2', '1'];
const STATUSES = ['New', 'Active', 'Re-Opened', 'Fixed'];
/** Distinct in hue and lightness, each readable against white; the legend names them. */
const COLOURS = { New: '#b3261e', Active: '#c25e00', 'Re-Opened': '#6b3fa0', Fixed: '#2e7d32' };

/** Sums the summary's `severity|status|type` matrix over types. */
export function severityByStatus(matrix = {}) {
  const counts = Object.fromEntries(SEVERITIES.map((s) => [s, Object.fromEntries(STATUSES.map((st) => [st, 0]))]));
  for (const [key, n] of Object.entries(matrix)) {
    const [severity, status] = key.split('|');
    if (counts[severity] && status in counts[severity]) counts[severity][status] += Number(n) || 0;
  }
  return counts;
}

export function severityStatusChart(matrix) {
  const counts = severityByStatus(matrix);
  const totals = SEVERITIES.map((s) => STATUSES.reduce((sum, st) => sum + counts[s][st], 0));
  const max = Math.max(1, ...totals);
  const titleId = uid('chart');
  const barH = 22;
  const gap = 8;
  const left = 90;
  const width = 520;
  const plot = width - left - 60;
  const height = SEVERITIES.length * (barH + gap) + 10;
  const bars = SEVERITIES.map((s, i) => {
    const y = 5 + i * (barH + gap);
    let x = left;
    const segments = STATUSES.map((st) => {
      const n = counts[s][st];
      const w = (n / max) * plot;
      const rect = n ? svg('rect', { x, y, width: Math.max(w, 1), height: barH, fill: COLOURS[st] }, svg('title', {}, `Severity ${s}, ${st}: ${n}`)) : null;
      x += w;
      return rect;
    });
    return svg(
      'g',
      {},
      svg('text', { x: left - 8, y: y + barH / 2 + 5, 'text-anchor': 'end', class: 'chart-label' }, `Severity ${s}`),
      segments,
      svg('text', { x: x + 6, y: y + barH / 2 + 5, class: 'chart-label' }, String(totals[i])),
    );
  });
  const picture = svg(
    'svg',
    { viewBox: `0 0 ${width} ${height}`, role: 'img', 'aria-labelledby': titleId, class: 'chart', preserveAspectRatio: 'xMinYMin meet' },
    svg('title', { id: titleId }, 'Detections by severity, split by status (the table below has the numbers)'),
    bars,
  );
  const legend = h(
    'ul',
    { class: 'legend' },
    STATUSES.map((st) => h('li', {}, svg('svg', { width: 14, height: 14, 'aria-hidden': 'true' }, svg('rect', { width: 14, height: 14, fill: COLOURS[st] })), ` ${st}`)),
  );
  const numbers = table(
    ['Severity', ...STATUSES, 'Total'],
    SEVERITIES.map((s, i) => h('tr', {}, h('th', { scope: 'row' }, s), STATUSES.map((st) => h('td', { class: 'num' }, String(counts[s][st]))), h('td', { class: 'num' }, String(totals[i])))),
    { class: 'compact' },
  );
  return h('figure', { class: 'severity-chart' }, picture, legend, h('figcaption', {}, 'Detections by severity and status'), numbers);
}
