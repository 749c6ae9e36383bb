/** An audit period around today (UTC): evidence a test collects now falls inside it. */
export function currentPeriod(days = 90): { periodStart: string; periodEnd: string } {
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  return { periodStart: day(-days), periodEnd: day(days) };
}
