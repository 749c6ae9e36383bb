/** Counters and a bounded request log, so tests can see what clients did and when. */

export interface RequestLogEntry {
  /** Wall-clock start of the request (ms since epoch); differences measure client waits. */
  at: number;
  endpoint: string;
  method: string;
  path: string;
  user: string | null;
  status: number;
  /** Qualys code of a SIMPLE_RETURN answer, null for data. */
  code: number | null;
  idMin: string | null;
  bytes: number;
  durationMs: number;
  /** True when the body was cut short (client gone or dropped by a fault). */
  aborted: boolean;
}

export interface SimulatorStats {
  startedAt: string;
  requests: number;
  byEndpoint: Record<string, number>;
  byStatus: Record<string, number>;
  byCode: Record<string, number>;
  inFlight: number;
  peakConcurrent: number;
  bytesSent: number;
  /** The most recent requests, oldest first. */
  log: RequestLogEntry[];
}

const LOG_LIMIT = 10_000;

export class StatsCollector {
  private startedAt = new Date().toISOString();
  private requests = 0;
  private byEndpoint: Record<string, number> = {};
  private byStatus: Record<string, number> = {};
  private byCode: Record<string, number> = {};
  private inFlight = 0;
  private peakConcurrent = 0;
  private bytesSent = 0;
  private log: RequestLogEntry[] = [];

  begin(endpoint: string, method: string, path: string): RequestLogEntry {
    this.requests++;
    this.byEndpoint[endpoint] = (this.byEndpoint[endpoint] ?? 0) + 1;
    this.inFlight++;
    this.peakConcurrent = Math.max(this.peakConcurrent, this.inFlight);
    return { at: Date.now(), endpoint, method, path, user: null, status: 0, code: null, idMin: null, bytes: 0, durationMs: 0, aborted: false };
  }

  finish(entry: RequestLogEntry): void {
    this.inFlight--;
    entry.durationMs = Date.now() - entry.at;
    this.byStatus[entry.status] = (this.byStatus[entry.status] ?? 0) + 1;
    if (entry.code !== null) this.byCode[entry.code] = (this.byCode[entry.code] ?? 0) + 1;
    this.bytesSent += entry.bytes;
    this.log.push(entry);
    if (this.log.length > LOG_LIMIT) this.log.splice(0, this.log.length - LOG_LIMIT);
  }

  snapshot(): SimulatorStats {
    return {
      startedAt: this.startedAt,
      requests: this.requests,
      byEndpoint: { ...this.byEndpoint },
      byStatus: { ...this.byStatus },
      byCode: { ...this.byCode },
      inFlight: this.inFlight,
      peakConcurrent: this.peakConcurrent,
      bytesSent: this.bytesSent,
      log: this.log.map((e) => ({ ...e })),
    };
  }

  /** Clears counters; requests still in flight keep being tracked. */
  reset(): void {
    this.startedAt = new Date().toISOString();
    this.requests = 0;
    this.byEndpoint = {};
    this.byStatus = {};
    this.byCode = {};
    this.peakConcurrent = this.inFlight;
    this.bytesSent = 0;
    this.log = [];
  }
}
