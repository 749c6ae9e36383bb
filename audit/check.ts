/**
 * One finding of an audit procedure: a named check, whether it passed, and
 * what was found. `ok: null` means the check could not be performed with
 * what was at hand (for instance no raw pages next to an exported file); the
 * detail then says why.
 */
export interface Check {
  name: string;
  ok: boolean | null;
  detail: string;
}

export function pass(name: string, detail: string): Check {
  return { name, ok: true, detail };
}

export function fail(name: string, detail: string): Check {
  return { name, ok: false, detail };
}

export function notPerformed(name: string, detail: string): Check {
  return { name, ok: null, detail };
}
