// The logged-in session: the token pair, kept fresh. The access token is renewed shortly
// before it expires, and again whenever the API answers 401 to it; renewals are
// single-flight, so that requests failing together rotate the refresh token once (using a
// rotated refresh token twice would end the session). Tokens live in memory only: a reload
// asks to log in again, and no other script or tab ever finds a refresh token in storage.

import { ApiError } from "./http.js";

/** How long before expiry the access token is renewed: a fifth of its life, at most 60 s. */
export function renewalDelay(expiresInSeconds) {
  const life = Math.max(0, expiresInSeconds) * 1000;
  return life - Math.min(60_000, life / 5);
}

export class Session {
  #send;
  #clock;
  #access = null;
  #refresh = null;
  #expiresAt = 0;
  #renewing = null;
  #timer = null;

  /**
   * `send` is `createHttp(...)`'s function; `onEnd(reason)` is called once when the session
   * ends without a logout (its refresh token refused). `clock` is for tests.
   */
  constructor(send, { onEnd = () => {}, clock = globalThis } = {}) {
    this.#send = send;
    this.onEnd = onEnd;
    this.#clock = {
      now: () => (clock.Date ?? Date).now(),
      setTimeout: clock.setTimeout.bind(clock),
      clearTimeout: clock.clearTimeout.bind(clock),
    };
    this.email = null;
  }

  get active() {
    return this.#refresh !== null;
  }

  /** Creates the account (then logs in). */
  async register(email, password) {
    await this.#send("POST", "/register", { body: { email, password } });
    return this.login(email, password);
  }

  async login(email, password) {
    const { body } = await this.#send("POST", "/login", { body: { email, password } });
    this.email = email;
    this.#accept(body);
  }

  /** Ends the session on the server (best effort) and forgets its tokens. */
  async logout() {
    const refresh = this.#refresh;
    const access = this.#access;
    this.#forget();
    if (refresh) {
      try {
        await this.#send("POST", "/logout", { body: { refresh_token: refresh }, token: access });
      } catch {
        // The tokens are gone from here either way; an access token that expires soon and a
        // refresh token nobody holds any more are harmless.
      }
    }
  }

  /**
   * Sends an authenticated request. An expired access token is renewed first; a 401 is
   * answered by one renewal and one retry.
   */
  async call(method, path, options = {}) {
    if (!this.active) throw new ApiError(401, { title: "Unauthorized", detail: "Not logged in." });
    if (this.#clock.now() >= this.#expiresAt) await this.renew();
    const used = this.#access;
    try {
      return await this.#send(method, path, { ...options, token: used });
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401 || !this.active) throw error;
      // Another request may have renewed the token meanwhile: then just use the new one.
      if (this.#access === used) await this.renew();
      return this.#send(method, path, { ...options, token: this.#access });
    }
  }

  /** Renews the token pair; concurrent calls share one request. */
  renew() {
    this.#renewing ??= this.#renewOnce().finally(() => {
      this.#renewing = null;
    });
    return this.#renewing;
  }

  async #renewOnce() {
    const refresh = this.#refresh;
    if (!refresh) throw new ApiError(401, { title: "Unauthorized", detail: "Not logged in." });
    try {
      const { body } = await this.#send("POST", "/token/refresh", {
        body: { refresh_token: refresh },
      });
      this.#accept(body);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401 && this.#refresh === refresh) {
        // The session is over (logged out elsewhere, password changed, expired).
        this.#forget();
        this.onEnd("Your session has ended. Please log in again.");
      } else if (this.#refresh === refresh) {
        // Throttled, unavailable or offline: keep the tokens and try again later.
        const seconds = error instanceof ApiError ? error.retryAfter(5) : 5;
        this.#schedule(Math.max(1, seconds) * 1000);
      }
      throw error;
    }
  }

  #accept(pair) {
    this.#access = pair.access_token;
    this.#refresh = pair.refresh_token;
    this.#expiresAt = this.#clock.now() + pair.expires_in * 1000;
    this.#schedule(renewalDelay(pair.expires_in));
  }

  #schedule(delay) {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      this.renew().catch(() => {});
    }, delay);
  }

  #forget() {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    this.#access = null;
    this.#refresh = null;
    this.#expiresAt = 0;
    this.email = null;
  }
}
