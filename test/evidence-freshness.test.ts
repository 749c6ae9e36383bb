import { describe, expect, it } from 'vitest';
import { assessFreshness, type Cadence } from '../evidence/freshness.js';

const DAY = 24 * 60 * 60 * 1000;
const collected = new Date('2026-01-01T12:00:00Z');
const at = (ms: number) => new Date(collected.getTime() + ms);

describe('evidence freshness', () => {
  // [cadence, age, expected state, expected whole days]
  const table: Array<[Cadence | null, number, string, number]> = [
    ['weekly', 0, 'fresh', 0],
    ['weekly', 6 * DAY - 1, 'fresh', 5],
    ['weekly', 6 * DAY, 'due', 6],
    ['weekly', 7 * DAY, 'due', 7],
    ['weekly', 7 * DAY + 1, 'stale', 7],
    ['monthly', 26 * DAY - 1, 'fresh', 25],
    ['monthly', 26 * DAY, 'due', 26],
    ['monthly', 31 * DAY, 'due', 31],
    ['monthly', 31 * DAY + 1, 'stale', 31],
    ['quarterly', 78 * DAY - 1, 'fresh', 77],
    ['quarterly', 78 * DAY, 'due', 78],
    ['quarterly', 92 * DAY, 'due', 92],
    ['quarterly', 92 * DAY + 1, 'stale', 92],
    [null, 365 * DAY - 1, 'fresh', 364],
    [null, 365 * DAY, 'stale', 365],
    ['quarterly', -5 * 60 * 1000, 'fresh', 0],
  ];
  it.each(table)('%s evidence aged %i ms is %s', (cadence, age, state, ageDays) => {
    const result = assessFreshness({ cadence, latestEvidenceAt: collected, now: at(age) });
    expect(result.state).toBe(state);
    expect(result.ageDays).toBe(ageDays);
  });

  it('dates the end of the period the evidence covers', () => {
    const now = at(DAY);
    expect(assessFreshness({ cadence: 'weekly', latestEvidenceAt: collected, now }).dueAt).toEqual(at(7 * DAY));
    expect(assessFreshness({ cadence: 'monthly', latestEvidenceAt: collected, now }).dueAt).toEqual(at(31 * DAY));
    expect(assessFreshness({ cadence: 'quarterly', latestEvidenceAt: collected, now }).dueAt).toEqual(at(92 * DAY));
    expect(assessFreshness({ cadence: null, latestEvidenceAt: collected, now }).dueAt).toEqual(at(365 * DAY));
  });

  it('reports missing evidence whatever the cadence', () => {
    for (const cadence of ['weekly', 'monthly', 'quarterly', null] as const) {
      expect(assessFreshness({ cadence, latestEvidenceAt: null, now: collected })).toEqual({ state: 'missing', ageDays: null, dueAt: null });
    }
  });

  it('rejects invalid input, naming it', () => {
    expect(() => assessFreshness({ cadence: 'weekly', latestEvidenceAt: new Date('x'), now: collected })).toThrow('latestEvidenceAt must be a valid Date');
    expect(() => assessFreshness({ cadence: 'weekly', latestEvidenceAt: collected, now: new Date('x') })).toThrow('now must be a valid Date');
    expect(() => assessFreshness({ cadence: 'daily' as Cadence, latestEvidenceAt: collected, now: collected })).toThrow(/cadence must be weekly, monthly, quarterly or null, got "daily"/);
  });
});
