// The master model's HTTP API as the browser client uses it (README: "The flush API").

import { ProblemError } from './problems.js';

/** One model's endpoints; `onNetwork(online)` hears whether each request found the network. */
export class ModelApi {
  #url;
  #fetch;
  #headers;
  #onNetwork;

  constructor({ baseUrl, type, id, fetch, headers, onNetwork }) {
    this.#url = `${baseUrl}/models/${encodeURIComponent(type)}/${encodeURIComponent(id)}`;
    this.#fetch = fetch;
    this.#headers = headers;
    this.#onNetwork = onNetwork;
  }

  /** The model's state, version and position. */
  read() {
    return this.#request(this.#url);
  }

  /** Flushes `commands` made on top of `baseVersion` under `idempotencyKey`; the answer holds what the client lacks. */
  flush(baseVersion, commands, idempotencyKey) {
    return this.#request(`${this.#url}/flush`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : {}) },
      body: JSON.stringify({ baseVersion, commands }),
    });
  }

  /** The model's commands after `version`. */
  commandsSince(version) {
    return this.#request(`${this.#url}/commands?since=${version}`);
  }

  // `headers` is read at each request, so a page may change them (the demo's user name) at any time.
  async #request(url, init = {}) {
    let response;
    try {
      response = await this.#fetch(url, { ...init, headers: { ...this.#headers, ...init.headers } });
    } catch (error) {
      this.#onNetwork(false);
      throw error;
    }
    this.#onNetwork(true);
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new ProblemError(response.status, body);
    return body;
  }
}
