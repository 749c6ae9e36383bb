/**
 * Validation of simulator configuration patches, shared by `configure()` and
 * `POST /__sim/config`: every problem names its field and the reason.
 */
import { z } from 'zod';
import { faultConfigSchema, type FaultConfig } from './faults.js';
import { PROFILE_NAMES, latencyConfigSchema, type LatencyConfig, type ProfileName } from './latency.js';
import { limitConfigSchema, type LimitConfig } from './limits.js';
import { shapeConfigSchema, type ShapeConfig } from './shapes.js';

const instant = z.union([z.iso.datetime({ offset: true }), z.date()]);

export const configPatchSchema = z.strictObject({
  faults: faultConfigSchema.partial().optional(),
  limits: limitConfigSchema.partial().optional(),
  /** A fixed clock, or null for the wall clock. */
  now: instant.nullable().optional(),
  shapes: shapeConfigSchema.partial().optional(),
  /** A named latency profile: sets latency and limits first; `latency` and `limits` in the same patch then apply on top. */
  profile: z.enum(PROFILE_NAMES).optional(),
  latency: latencyConfigSchema.partial().optional(),
});

export interface ConfigPatch {
  faults?: Partial<FaultConfig>;
  limits?: Partial<LimitConfig>;
  now?: string | Date | null;
  shapes?: Partial<ShapeConfig>;
  profile?: ProfileName;
  latency?: Partial<LatencyConfig>;
}

export interface FieldIssue {
  field: string;
  reason: string;
}

export class ConfigError extends Error {
  constructor(readonly issues: FieldIssue[]) {
    super(`invalid simulator configuration: ${issues.map((i) => `${i.field}: ${i.reason}`).join('; ')}`);
  }
}

export function parseConfigPatch(input: unknown): ConfigPatch {
  const result = configPatchSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => ({ field: issue.path.join('.') || '(body)', reason: issue.message })),
    );
  }
  return result.data;
}
