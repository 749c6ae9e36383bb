/**
 * Prints, after the run's summary, every suite that could not run and why
 * (see unavailable.ts), so a green run never hides what it did not test.
 */
import type { Reporter, TestModule } from 'vitest/node';
import path from 'node:path';

export default class UnavailableReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const lines: string[] = [];
    for (const module of testModules) {
      for (const suite of module.children.allSuites()) {
        const reason = suite.meta().unavailable;
        if (reason) lines.push(`  ${path.relative(process.cwd(), module.moduleId)} > ${suite.fullName}: ${reason}`);
      }
    }
    if (lines.length === 0) return;
    process.stdout.write(`\n Could not run ${lines.length} suite${lines.length === 1 ? '' : 's'} on this machine:\n${lines.join('\n')}\n\n`);
  }
}
