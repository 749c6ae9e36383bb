/** The text of Qualys's truncation warning (code 1980). */
export function truncationText(limit: number): string {
  return `${limit} record limit exceeded. Use URL to get next batch of results.`;
}
