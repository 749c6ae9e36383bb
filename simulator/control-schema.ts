/**
 * Validation of simulator configuration patches, shared by `configure()` and
 * `POST /__sim/config`: every problem names its field and the reason.
 */
import { z } from 'zod';
import { faultConfigSchema, type FaultConfig } from './faults.js';
import { limitConfigSchema, type LimitConfig } from './limits.js';

const instant = z.union([z.iso.datetime({ offset: true }), z.date()]);

export const configPatchSchema = z.strictObject({
  faults: faultConfigSchema.partial().optional(),
  limits: limitConfigSchema.partial().optional(),
  /** A fixed clock, or null for the wall clock. */
  now: instant.nullable().optional(),
});

export interface ConfigPatch {
  faults?: Partial<FaultConfig>;
  limits?: Partial<LimitConfig>;
  now?: string | Date | null;
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
