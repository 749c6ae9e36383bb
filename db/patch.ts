/**
 * Whether an update carries no change. drizzle refuses an UPDATE without
 * values, while an empty PATCH is a legitimate request that should simply
 * return the current row.
 */
export function isEmptyPatch(patch: object): boolean {
  return Object.values(patch).every((value) => value === undefined);
}
