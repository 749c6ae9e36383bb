/**
 * Errors answered as Qualys answers them: a SIMPLE_RETURN document with a code,
 * a text and optional ITEM_LIST entries, under a documented HTTP status.
 */
export class QualysError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: number,
    readonly text: string,
    readonly items: ReadonlyArray<readonly [string, string]> = [],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`${code}: ${text}`);
  }
}

/** Qualys's wording, e.g. "Unrecognized parameter(s): show_asset_ids (action=list allows: echo_request, ips, …)". */
export function unrecognizedParameters(names: readonly string[], allowed: readonly string[], action = 'list'): QualysError {
  const listed = allowed.filter((name) => name !== 'action');
  return new QualysError(400, 1901, `Unrecognized parameter(s): ${names.join(', ')} (action=${action} allows: ${listed.join(', ')})`);
}

export function missingParameters(names: readonly string[]): QualysError {
  return new QualysError(400, 1903, `Missing required parameter(s): ${names.join(', ')}`);
}

export function exclusiveParameters(names: readonly string[]): QualysError {
  return new QualysError(400, 1904, `Please specify only one of these parameters: ${names.join(', ')}`);
}

export function invalidValue(name: string, value: string, reason?: string): QualysError {
  return new QualysError(
    400,
    1905,
    `parameter ${name} has invalid value: ${value}${reason ? ` (${reason})` : ''}`,
  );
}
