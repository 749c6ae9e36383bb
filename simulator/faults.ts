/**
 * Fault injection. Rates (latency, error share, slow bodies) apply to every
 * call in scope; "next N" rules apply to the next N calls of their endpoint and
 * count down, so tests can script exact failure sequences.
 */
import { z } from 'zod';
import { Rng, hash32 } from './prng.js';
import { QualysError } from './qualys-error.js';
import { concurrencyLimitError, rateLimitError } from './limits.js';
import { HOSTILE_DOCUMENTS, type HostileDocument } from './body-producer.js';

export const ENDPOINT_NAMES = ['detection', 'assetGroups', 'searchLists', 'hostList', 'knowledgeBase', 'about'] as const;
export type EndpointName = (typeof ENDPOINT_NAMES)[number];

const endpoint = z.enum(ENDPOINT_NAMES).optional();
const count = z.number().int().min(0);

export const faultConfigSchema = z.strictObject({
  /** Delay before the response headers (ms). */
  latencyMs: z.number().int().min(0),
  /** Extra delay for each MB of body sent (ms). */
  latencyPerMbMs: z.number().int().min(0),
  /** Throttles bodies to this many bytes per second; 0 = full speed. */
  slowBodyBytesPerSec: z.number().int().min(0),
  /** Share of calls answered with an error status (seeded, so runs repeat). */
  errorRate: z.number().min(0).max(1),
  errorStatuses: z.array(z.number().int().min(400).max(599)).min(1),
  malformedAlways: z.boolean(),
  /** Endpoints the rate-based faults above apply to; empty = all. */
  endpoints: z.array(z.enum(ENDPOINT_NAMES)),
  failNext: z.strictObject({ count, status: z.number().int().min(400).max(599), endpoint }).nullable(),
  /** Sends the headers and `afterBytes` of the body, then destroys the connection. */
  dropNext: z.strictObject({ count, afterBytes: z.number().int().min(0), endpoint }).nullable(),
  malformedNext: z.strictObject({ count, endpoint }).nullable(),
  rateLimitNext: z.strictObject({ count, secondsToWait: z.number().int().min(1), endpoint }).nullable(),
  concurrencyLimitNext: z.strictObject({ count, callsToFinish: z.number().int().min(1).optional(), endpoint }).nullable(),
  /** Host List Detection XML that no retry can fix: a DTD of its own, a billion-laughs DTD, or a truncation cursor pointing back into the page. */
  hostileNext: z.strictObject({ count, document: z.enum(HOSTILE_DOCUMENTS), endpoint }).nullable(),
  /**
   * Host List Detection pages holding more hosts than this are cut off a few
   * KB into the body, every time (as a gateway that times out long pages
   * does); 0 = off. What smaller pages recover from.
   */
  maxHostsPerPage: z.number().int().min(0),
});
export type FaultConfig = z.infer<typeof faultConfigSchema>;

export function defaultFaults(): FaultConfig {
  return {
    latencyMs: 0,
    latencyPerMbMs: 0,
    slowBodyBytesPerSec: 0,
    errorRate: 0,
    errorStatuses: [500, 503],
    malformedAlways: false,
    endpoints: [],
    failNext: null,
    dropNext: null,
    malformedNext: null,
    rateLimitNext: null,
    concurrencyLimitNext: null,
    hostileNext: null,
    maxHostsPerPage: 0,
  };
}

/** What happens to one successful answer's body. */
export interface BodyFaults {
  readonly dropAfterBytes: number | null;
  readonly malformed: boolean;
  readonly hostile: HostileDocument | null;
  readonly latencyPerMbMs: number;
  readonly slowBodyBytesPerSec: number;
}

interface CountedRule {
  count: number;
  endpoint?: EndpointName | undefined;
}

export class Faults {
  private config = defaultFaults();
  private readonly rng: Rng;

  constructor(private readonly seed: number) {
    this.rng = new Rng(hash32(seed, 0xfa17));
  }

  get current(): FaultConfig {
    return structuredClone(this.config);
  }

  configure(patch: Partial<FaultConfig>): void {
    this.config = { ...this.config, ...structuredClone(patch) };
  }

  reset(config: FaultConfig): void {
    this.config = structuredClone(config);
    this.rng.reset(hash32(this.seed, 0xfa17));
  }

  latencyMs(name: EndpointName): number {
    return this.inScope(name) ? this.config.latencyMs : 0;
  }

  /** An injected 409 (1965 or 1960) for this call, consuming its rule. */
  takeLimitFault(name: EndpointName, headers: Record<string, string>): QualysError | null {
    const rate = this.config.rateLimitNext;
    if (this.consume(rate, name)) return rateLimitError(rate!.secondsToWait, headers);
    const conc = this.config.concurrencyLimitNext;
    if (this.consume(conc, name)) return concurrencyLimitError(conc!.callsToFinish ?? 1, headers);
    return null;
  }

  /** An injected error answer (failNext first, then the error rate). */
  takeFailure(name: EndpointName): QualysError | null {
    const fail = this.config.failNext;
    if (this.consume(fail, name)) return serverError(fail!.status);
    if (this.config.errorRate > 0 && this.inScope(name)) {
      // One draw per call in scope keeps the sequence repeatable for a given seed.
      const r = this.rng.float();
      if (r < this.config.errorRate) {
        const statuses = this.config.errorStatuses;
        return serverError(statuses[this.rng.int(statuses.length)]!);
      }
    }
    return null;
  }

  /** The page-size cut-off for an answer of this endpoint, or null. */
  maxHostsPerPage(name: EndpointName): number | null {
    return name === 'detection' && this.config.maxHostsPerPage > 0 ? this.config.maxHostsPerPage : null;
  }

  takeBodyFaults(name: EndpointName): BodyFaults {
    const drop = this.config.dropNext;
    const dropAfterBytes = this.consume(drop, name) ? drop!.afterBytes : null;
    const malformed = this.consume(this.config.malformedNext, name) || (this.config.malformedAlways && this.inScope(name));
    const hostile = this.config.hostileNext;
    const scoped = this.inScope(name);
    return {
      dropAfterBytes,
      malformed,
      hostile: this.consume(hostile, name) ? hostile!.document : null,
      latencyPerMbMs: scoped ? this.config.latencyPerMbMs : 0,
      slowBodyBytesPerSec: scoped ? this.config.slowBodyBytesPerSec : 0,
    };
  }

  private inScope(name: EndpointName): boolean {
    return this.config.endpoints.length === 0 || this.config.endpoints.includes(name);
  }

  private consume(rule: CountedRule | null, name: EndpointName): boolean {
    if (!rule || rule.count <= 0 || (rule.endpoint && rule.endpoint !== name)) return false;
    rule.count--;
    return true;
  }
}

/** Qualys-like bodies for injected server errors: 1999 for maintenance (503), 1920 for 409, else 999. */
export function serverError(status: number): QualysError {
  if (status === 503) return new QualysError(503, 1999, 'The Qualys API is temporarily unavailable for scheduled maintenance. Please try again later.');
  if (status === 409) return new QualysError(409, 1920, 'The requested operation is blocked by one or more existing Business Objects');
  return new QualysError(status, 999, 'Internal error. Please contact customer support.');
}
