/* global URLSearchParams */
/**
 * Screens by address: `#/fetchers/<id>` and the like, so every screen can be
 * bookmarked, reloaded and reached with the browser's Back button.
 */

/** [pattern, screen name, admin only]; `:name` segments become params. */
const ROUTES = [
  ['connections', 'connections', true],
  ['fetchers', 'fetchers', false],
  ['fetchers/new', 'fetcher-new', true],
  ['fetchers/:id', 'fetcher', false],
  ['fetchers/:id/edit', 'fetcher-edit', true],
  ['runs', 'runs', false],
  ['runs/:id', 'run', false],
  ['evidence', 'evidence', false],
  ['evidence/:id', 'evidence-item', false],
  ['controls', 'controls', false],
  ['controls/:id', 'control', false],
  ['requests', 'requests', false],
  ['requests/:id', 'request', false],
  ['access', 'access', true],
];

/** The screen for a hash such as `#/fetchers/abc?connection=x`, or null. */
export function parseRoute(hash) {
  const [path, query = ''] = hash.replace(/^#\/?/, '').split('?');
  const parts = path.split('/').filter(Boolean);
  for (const [pattern, screen, adminOnly] of ROUTES) {
    const segments = pattern.split('/');
    if (segments.length !== parts.length) continue;
    const params = {};
    const fits = segments.every((seg, i) => {
      if (seg.startsWith(':')) {
        params[seg.slice(1)] = decodeURIComponent(parts[i]);
        return true;
      }
      return seg === parts[i];
    });
    if (fits) return { screen, adminOnly, params, query: new URLSearchParams(query) };
  }
  return null;
}

export const href = (...parts) => `#/${parts.map((p) => encodeURIComponent(p)).join('/')}`;
