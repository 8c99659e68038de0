// When the browser client tries again: flushes that failed for want of a network are retried after
// 0.5 s, doubling to at most 4 s, and at once when there is reason to think the network is back.

/** One pending retry at a time, with a growing delay that a success resets. */
export class Backoff {
  #timer = null;
  #delay;
  #first;
  #most;

  constructor({ first = 500, most = 4000 } = {}) {
    this.#first = this.#delay = first;
    this.#most = most;
  }

  /** Runs `action` after the current delay, unless a retry is already waiting. */
  schedule(action) {
    if (this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#delay = Math.min(this.#delay * 2, this.#most);
      action();
    }, this.#delay);
  }

  /** Forgets a waiting retry (the caller acts at once, or not at all). */
  cancel() {
    clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** Back to the shortest delay, after something went through. */
  reset() {
    this.#delay = this.#first;
  }
}
