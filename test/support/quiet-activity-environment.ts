/**
 * Temporal's mock activity environment with its logger pointed at nothing:
 * the failures these tests provoke would otherwise each print a stack.
 */
import { MockActivityEnvironment, type MockActivityEnvironmentOptions } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';

export function quietActivityEnvironment(options: Omit<MockActivityEnvironmentOptions, 'logger'> = {}): MockActivityEnvironment {
  return new MockActivityEnvironment(undefined, { ...options, logger: new DefaultLogger('ERROR', () => {}) });
}
