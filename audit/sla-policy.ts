/**
 * Remediation SLA policies: days allowed per severity category, from the day
 * a detection was found. Each built-in policy names its source.
 */
import { z } from 'zod';

export const CATEGORIES = ['critical', 'high', 'medium', 'low'] as const;
export type SeverityCategory = (typeof CATEGORIES)[number];

/** Qualys severities 1–5 onto the categories policies are written in: 5 Critical, 4 High, 3 Medium, 1–2 Low. */
const DEFAULT_SEVERITY_MAPPING: Readonly<Record<'1' | '2' | '3' | '4' | '5', SeverityCategory>> = {
  '5': 'critical',
  '4': 'high',
  '3': 'medium',
  '2': 'low',
  '1': 'low',
};

export interface SlaPolicy {
  name: string;
  source: string;
  days: Record<SeverityCategory, number>;
  severityMapping: Record<'1' | '2' | '3' | '4' | '5', SeverityCategory>;
}

export const BUILT_IN_POLICIES: Readonly<Record<string, SlaPolicy>> = {
  // FedRAMP Continuous Monitoring Strategy Guide / Performance Management Guide, RA-5(d) FedRAMP assignment:
  // high-risk vulnerabilities mitigated within 30 days of discovery, moderate within 90, low within 180.
  // FedRAMP rates risk High / Moderate / Low: Qualys Critical and High both fall under "High".
  fedramp: {
    name: 'fedramp',
    source: 'FedRAMP Continuous Monitoring (RA-5(d)): High 30 days, Moderate 90, Low 180 from detection',
    days: { critical: 30, high: 30, medium: 90, low: 180 },
    severityMapping: { ...DEFAULT_SEVERITY_MAPPING },
  },
  // PCI DSS v4.0.1 requirement 6.3.3: critical vulnerabilities patched within one month (taken as 30 days);
  // the rest "within an appropriate time frame" by the entity's risk ranking (6.3.1), 90 days unless set by a custom policy.
  'pci-dss': {
    name: 'pci-dss',
    source: 'PCI DSS v4.0.1 req. 6.3.3: critical within one month (30 days); others per the entity\'s risk ranking (6.3.1), default 90 days',
    days: { critical: 30, high: 90, medium: 90, low: 90 },
    severityMapping: { ...DEFAULT_SEVERITY_MAPPING },
  },
  // A common commercial baseline (vendor and cyber-insurance remediation guidance): Critical 15, High 30, Medium 90, Low 180.
  commercial: {
    name: 'commercial',
    source: 'Commercial default: Critical 15 days, High 30, Medium 90, Low 180 from detection',
    days: { critical: 15, high: 30, medium: 90, low: 180 },
    severityMapping: { ...DEFAULT_SEVERITY_MAPPING },
  },
};

const days = z.number({ error: 'must be a number of days' }).int('must be a whole number of days').min(0, 'must not be negative').max(3650, 'must be at most 3650');
const category = z.enum(CATEGORIES, { error: `must be one of ${CATEGORIES.join(', ')}` });

const customPolicySchema = z
  .strictObject({
    name: z.string().min(1).max(100).default('custom'),
    days: z.strictObject({ critical: days, high: days, medium: days, low: days }),
    severityMapping: z.strictObject({ '1': category, '2': category, '3': category, '4': category, '5': category }).partial().optional(),
  })
  .transform(
    (p): SlaPolicy => ({
      name: p.name,
      source: 'custom policy given with the request',
      days: p.days,
      severityMapping: { ...DEFAULT_SEVERITY_MAPPING, ...p.severityMapping },
    }),
  );

export class SlaPolicyError extends Error {
  override readonly name = 'SlaPolicyError';
}

/** A built-in policy by name, or a custom one as JSON (`{"days":{"critical":7,"high":30,"medium":60,"low":120}}`). */
export function parsePolicy(text: string): SlaPolicy {
  const trimmed = text.trim();
  const builtIn = BUILT_IN_POLICIES[trimmed.toLowerCase()];
  if (builtIn) return builtIn;
  if (!trimmed.startsWith('{')) {
    throw new SlaPolicyError(`unknown policy "${trimmed.slice(0, 40)}": use ${Object.keys(BUILT_IN_POLICIES).join(', ')} or a JSON policy {"days":{"critical":…,"high":…,"medium":…,"low":…}}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch (err) {
    throw new SlaPolicyError(`the custom policy is not JSON: ${(err as Error).message}`);
  }
  const parsed = customPolicySchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new SlaPolicyError(`custom policy ${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  return parsed.data;
}
