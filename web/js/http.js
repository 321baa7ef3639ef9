// Requests to the API and its errors. Every error the API sends is a problem+json document
// (RFC 9457); `ApiError` carries it, so the views can show `detail` and the field errors.

/** An answer that was not a success, or a request that never got one (`status` 0). */
export class ApiError extends Error {
  constructor(status, problem = {}, headers = new Headers()) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
    this.headers = headers;
  }

  /** `[{field, message}]` of a 422, else empty. */
  get fieldErrors() {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }

  /** Seconds to wait before trying again (from `Retry-After`), or `fallback`. */
  retryAfter(fallback) {
    const seconds = Number.parseInt(this.headers.get("Retry-After") ?? "", 10);
    return Number.isFinite(seconds) && seconds >= 0 ? seconds : fallback;
  }
}

/**
 * A function that sends one request to the API at `base` (an origin) and resolves to
 * `{status, headers, body}` for a 2xx or 304 answer (`body` is parsed JSON, or null), or
 * rejects with an `ApiError`.
 */
export function createHttp(base, fetchImpl = globalThis.fetch.bind(globalThis)) {
  return async function send(method, path, { body, token, headers = {} } = {}) {
    const init = { method, headers: { Accept: "application/json", ...headers } };
    if (token) init.headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetchImpl(new URL(path, base).href, init);
    } catch (cause) {
      throw new ApiError(0, {
        title: "Network error",
        detail: `The API at ${base} could not be reached.`,
        cause: String(cause),
      });
    }
    const text = response.status === 204 || response.status === 304 ? "" : await response.text();
    let parsed = null;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
    }
    if (response.ok || response.status === 304) {
      return { status: response.status, headers: response.headers, body: parsed };
    }
    const problem = parsed && typeof parsed === "object" ? parsed : { title: response.statusText };
    throw new ApiError(response.status, problem, response.headers);
  };
}

/** The `rel="next"` address of a `Link` header, or null. */
export function nextLink(headers) {
  const link = headers.get("Link");
  return link?.match(/<([^>]+)>\s*;\s*rel="next"/)?.[1] ?? null;
}

/** A fresh `Idempotency-Key`. */
export function idempotencyKey() {
  if (globalThis.crypto?.randomUUID) return globalThis.crypto.randomUUID();
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
