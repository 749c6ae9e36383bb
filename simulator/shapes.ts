/**
 * How answers vary the way real Qualys answers do. Every field has a default
 * in realistic proportions; tests raise a share to 1 (or switch a flag on) to
 * get one shape on every detection or answer, through the options,
 * `configure()`, `POST /__sim/config` or the CLI.
 */
import { z } from 'zod';

const share = z.number().min(0).max(1);

export const shapeConfigSchema = z.strictObject({
  /** Share of confirmed and potential detections written without PORT and PROTOCOL (host-level findings). */
  portlessShare: share,
  /** Share of information-gathered detections written without PORT and PROTOCOL. */
  igPortlessShare: share,
  /** Share of information-gathered detections written without SEVERITY. */
  igWithoutSeverityShare: share,
  /** Share of information-gathered detections written without STATUS. */
  igWithoutStatusShare: share,
  /** A trial or evaluation subscription: every XML answer has a comment before and after its root element. */
  trial: z.boolean(),
  /** CSV cells that need no quotes are written bare (some answers do this), instead of every cell quoted. */
  csvUnquoted: z.boolean(),
});
export type ShapeConfig = z.infer<typeof shapeConfigSchema>;

export const DEFAULT_SHAPES: ShapeConfig = {
  portlessShare: 0.3,
  igPortlessShare: 0.6,
  igWithoutSeverityShare: 0.05,
  igWithoutStatusShare: 0.05,
  trial: false,
  csvUnquoted: false,
};
