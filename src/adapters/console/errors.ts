/** Tells whether an Outcome reports a failure, for `--exec` exit codes: the interaction core flags them. */
import type { Outcome } from '../../interactions/types.js';

export function isErrorOutcome(outcome: Outcome): boolean {
  return outcome.kind === 'message' && outcome.error !== undefined;
}
