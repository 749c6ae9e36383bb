/**
 * A page's host ids as runs of consecutive ids, collected while the page
 * streams in: "1-5,9,12-14". Qualys lists hosts in ascending id order, so a
 * page of consecutive ids costs a few bytes and a sparse one about ten per host.
 */
export class HostIdRuns {
  private readonly runs: Array<[number, number]> = [];

  add(id: number): void {
    const last = this.runs.at(-1);
    if (last && id === last[1] + 1) last[1] = id;
    else this.runs.push([id, id]);
  }

  toString(): string {
    return formatHostIdRuns(this.runs);
  }
}

/** Qualys's id list syntax (`ids=1-5,9`): what a page's runs are stored as and what calls name hosts with. */
export function formatHostIdRuns(runs: ReadonlyArray<readonly [number, number]>): string {
  return runs.map(([lo, hi]) => (lo === hi ? String(lo) : `${lo}-${hi}`)).join(',');
}

/** The ids of a string made by HostIdRuns, in order. */
export function* hostIdsOfRuns(text: string): Generator<number> {
  if (text === '') return;
  for (const part of text.split(',')) {
    const dash = part.indexOf('-');
    const lo = Number(dash < 0 ? part : part.slice(0, dash));
    const hi = dash < 0 ? lo : Number(part.slice(dash + 1));
    if (!Number.isSafeInteger(lo) || !Number.isSafeInteger(hi) || hi < lo) throw new Error(`"${part.slice(0, 40)}" is not a host id or a range of them`);
    for (let id = lo; id <= hi; id++) yield id;
  }
}
