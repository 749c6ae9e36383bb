/**
 * A host's detections, drawn into typed arrays (no object per detection).
 * Dates are kept as seconds before the data anchor; formatting happens only
 * when a detection is rendered.
 */
import { Rng, hash32 } from './prng.js';
import type { HostRecord } from './host-record.js';
import { CATALOG_SIZE, type QidCatalog } from './qid-catalog.js';
import { pickVariant } from './results-pool.js';
import type { ShapeConfig } from './shapes.js';
import {
  KERNEL_NONE,
  KERNEL_NON_RUNNING,
  KERNEL_RUNNING,
  STATUS_ACTIVE,
  STATUS_FIXED,
  STATUS_NEW,
  STATUS_REOPENED,
  TYPE_INFO,
} from './vocabulary.js';

const DAY = 86_400;
const TWO_YEARS = 730 * DAY;
export const MAX_DETECTIONS = 64;

export const PORTS: ReadonlyArray<readonly [number, string]> = [
  [22, 'tcp'], [80, 'tcp'], [443, 'tcp'], [3389, 'tcp'], [445, 'tcp'], [161, 'udp'],
  [53, 'udp'], [25, 'tcp'], [1433, 'tcp'], [8443, 'tcp'], [135, 'tcp'], [123, 'udp'],
];
/** Index into PORTS, or NO_PORT for host-level findings. */
export const NO_PORT = 255;

/** A uniform value in [0, 1) for one detection and purpose. */
function unit(seed: number, k: number, salt: number): number {
  return hash32(seed, k, salt) / 4294967296;
}

export class DetectionSet {
  count = 0;
  readonly qidIndex = new Int32Array(MAX_DETECTIONS);
  readonly status = new Uint8Array(MAX_DETECTIONS);
  readonly port = new Uint8Array(MAX_DETECTIONS);
  readonly variant = new Uint16Array(MAX_DETECTIONS);
  readonly kernel = new Int8Array(MAX_DETECTIONS);
  readonly firstFoundAgo = new Int32Array(MAX_DETECTIONS);
  readonly lastFoundAgo = new Int32Array(MAX_DETECTIONS);
  /** -1 when never fixed. */
  readonly lastFixedAgo = new Int32Array(MAX_DETECTIONS);
  readonly reopenedAgo = new Int32Array(MAX_DETECTIONS);
  readonly timesFound = new Int32Array(MAX_DETECTIONS);
  readonly timesReopened = new Int32Array(MAX_DETECTIONS);
  /** 1 when the detection is written without SEVERITY / without STATUS (the values still drive filters). */
  readonly noSeverity = new Uint8Array(MAX_DETECTIONS);
  readonly noStatus = new Uint8Array(MAX_DETECTIONS);
  private readonly rng = new Rng(0);

  /**
   * Draws every detection of `host`; the number of draws per detection is
   * fixed. Shape choices hash (seed, detection) instead of drawing, so changing
   * a shape never moves the other values.
   */
  fill(host: HostRecord, catalog: QidCatalog, shapes: ShapeConfig): void {
    const rng = this.rng;
    rng.reset(host.detectionSeed);
    const n = host.detectionCount;
    const scanned = host.lastVmScannedAgo;
    for (let k = 0; k < n; k++) {
      const qi = (host.qidStart + k * host.qidStride) & (CATALOG_SIZE - 1);
      this.qidIndex[k] = qi;
      const rStatus = rng.float();
      const rFirst = rng.float();
      const rPort = rng.float();
      const rVariant = rng.float();
      const rTimes = rng.float();
      const rKernel = rng.float();
      const rFixed = rng.float();
      const rReopen = rng.float();

      const status = rStatus < 0.15 ? STATUS_NEW : rStatus < 0.65 ? STATUS_ACTIVE : rStatus < 0.9 ? STATUS_FIXED : STATUS_REOPENED;
      this.status[k] = status;
      const ig = catalog.type[qi] === TYPE_INFO;
      const portless = ig ? rPort < shapes.igPortlessShare : unit(host.detectionSeed, k, 0x9047) < shapes.portlessShare;
      this.port[k] = portless ? NO_PORT : Math.floor(rPort * PORTS.length) % PORTS.length;
      this.noSeverity[k] = ig && unit(host.detectionSeed, k, 0x5e7) < shapes.igWithoutSeverityShare ? 1 : 0;
      this.noStatus[k] = ig && unit(host.detectionSeed, k, 0x57a7) < shapes.igWithoutStatusShare ? 1 : 0;
      this.variant[k] = pickVariant(rVariant);
      this.kernel[k] = catalog.kernel[qi] === 1 && host.linux ? (rKernel < 0.5 ? KERNEL_RUNNING : KERNEL_NON_RUNNING) : KERNEL_NONE;

      const oldest = Math.max(scanned, TWO_YEARS);
      const first = scanned + Math.floor(rFirst * (oldest - scanned));
      let lastFound = scanned;
      let fixed = -1;
      let reopened = -1;
      if (status === STATUS_NEW) {
        this.firstFoundAgo[k] = scanned;
      } else {
        this.firstFoundAgo[k] = first;
        if (status === STATUS_FIXED) {
          // Fixed by the last scan; last seen some time between first sighting and then.
          fixed = scanned;
          lastFound = Math.min(first, scanned + 1 + Math.floor(rFixed * Math.max(0, first - scanned - 1)));
        } else if (status === STATUS_REOPENED) {
          fixed = Math.min(first, scanned + 1 + Math.floor(rFixed * Math.max(0, first - scanned - 1)));
          reopened = scanned + Math.floor(rReopen * (fixed - scanned));
        }
      }
      this.lastFoundAgo[k] = lastFound;
      this.lastFixedAgo[k] = fixed;
      this.reopenedAgo[k] = reopened;
      this.timesFound[k] = status === STATUS_NEW ? 1 : 2 + Math.floor(rTimes * 400);
      this.timesReopened[k] = status === STATUS_REOPENED ? 1 + Math.floor(rReopen * 3) : 0;
    }
    this.count = n;
  }
}
