import { describe, expect, it } from 'vitest';
import { HostIdRuns, hostIdsOfRuns } from '../qualys/host-id-runs.js';

describe('host id runs', () => {
  it('keeps consecutive ids as one run and gives back every id in order, repeats included', () => {
    const runs = new HostIdRuns();
    for (const id of [1, 2, 3, 7, 9, 10, 10, 12]) runs.add(id);
    expect(runs.toString()).toBe('1-3,7,9-10,10,12');
    expect([...hostIdsOfRuns(runs.toString())]).toEqual([1, 2, 3, 7, 9, 10, 10, 12]);
    expect([...hostIdsOfRuns(new HostIdRuns().toString())]).toEqual([]);
  });

  it('refuses text that is not runs of host ids', () => {
    expect(() => [...hostIdsOfRuns('1-3,x')]).toThrow('"x" is not a host id or a range of them');
    expect(() => [...hostIdsOfRuns('5-2')]).toThrow('"5-2"');
  });
});
