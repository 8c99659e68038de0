// How the browser client tells the server's refusals (RFC 7807 problems) from a missing network.

import { CommandError } from './commands.js';

/** Thrown when the server refuses a request with an RFC 7807 problem; `problem` holds it. */
export class ProblemError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? problem?.title ?? `the server answered ${status}`);
    this.name = 'ProblemError';
    this.status = status;
    this.problem = problem;
  }
}

export const refusedForGood = (error, sent) => {
  const type = error?.problem?.type;
  const index = error?.problem?.commandIndex;
  const final = type === 'urn:unbundled:problem:item-missing' || type === 'urn:unbundled:problem:command-rejected';
  return final && Number.isInteger(index) && index >= 0 && index < sent ? index : null;
};

// fetch rejects (a TypeError) only when no answer came: offline, DNS, a dropped connection.
export const isNetworkError = (error) => !(error instanceof ProblemError) && !(error instanceof CommandError);
