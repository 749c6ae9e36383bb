/**
 * Suites that need something this machine may lack (Java for S3Proxy, a
 * browser): instead of failing `npm test`, such a suite is collected but not
 * run, and carries the reason in its metadata; the unavailable reporter
 * lists every such suite and its reason at the end of the run's summary.
 */
import { describe } from 'vitest';

declare module 'vitest' {
  interface TaskMeta {
    /** Why the suite could not run on this machine. */
    unavailable?: string;
  }
}

/** `describe` when `unavailable` is null; otherwise the suite is reported as unable to run, with the reason. */
export function describeWhenAvailable(name: string, unavailable: string | null, body: () => void): void {
  if (unavailable === null) describe(name, body);
  else describe(name, { skip: true, meta: { unavailable } }, body);
}
