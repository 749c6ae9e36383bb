/**
 * Custom fetchers name a path on the connection's API server
 * (`/api/2.0/fo/scan/?action=list`), never a URL: whatever the user types,
 * requests only ever go to the connection's own host.
 */

/** Why a custom endpoint path is refused, or null when it is acceptable. */
export function endpointPathProblem(path: string): string | null {
  if (typeof path !== 'string' || path === '') return 'is empty; give a path such as /api/2.0/fo/scan/?action=list';
  if (path.length > 2048) return 'is longer than 2048 characters';
  if (!path.startsWith('/')) return `"${path.slice(0, 80)}" must be a path starting with "/", not a URL`;
  if (path.startsWith('//')) return 'must not start with "//" (that names another host)';
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f\\#]/.test(path)) return 'must not contain spaces, control characters, backslashes or "#"';
  if (/%(2e|2f|5c|00)/i.test(path)) return 'must not contain encoded dots, slashes, backslashes or NUL';
  if (/[\ud800-\udfff]/.test(path.replace(/[\ud800-\udbff][\udc00-\udfff]/g, ''))) return 'must not contain unpaired UTF-16 surrogates';
  const pathname = path.split('?', 1)[0]!;
  if (pathname.split('/').some((segment) => segment === '..' || segment === '.')) return 'must not contain "." or ".." segments';
  return null;
}

/**
 * The same rules as one ECMAScript pattern (no flags), for the OpenAPI
 * document; it also leaves out the session login/logout paths that custom
 * requests may not call. A property test holds it and the function in step.
 */
export const ENDPOINT_PATH_PATTERN =
  '^/(?!/)(?![aA][pP][iI]/[0-9.]+/[fF][oO]/[sS][eE][sS][sS][iI][oO][nN]/?(?:\\?|$))(?!.*%(?:2[eEfF]|5[cC]|00))(?!(?:[^?]*/)?\\.{1,2}(?:/|\\?|$))(?:[^\\s\\x00-\\x1f\\x7f\\\\#\\ud800-\\udfff]|[\\ud800-\\udbff][\\udc00-\\udfff]){0,2047}$';
