// Errors thrown by the Benben client. Every non-2xx answer becomes an HttpError; one whose body
// is an RFC 9457 problem (what Benben answers for every error) becomes the richer ProblemError,
// so that callers can branch on `status` and `type` and show `errors` next to form fields.

/** A non-2xx answer whose body is not a problem document (a proxy's HTML error page...). */
export class HttpError extends Error {
  constructor(message, { status, headers, body, url, method }) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.headers = headers;
    this.body = body;
    this.url = url;
    this.method = method;
  }

  /** The ETag the answer carried: on a 412 it is the resource's current one. */
  get etag() {
    return this.headers?.get("ETag") ?? null;
  }
}

/** A non-2xx answer with an RFC 9457 problem body (`application/problem+json`). */
export class ProblemError extends HttpError {
  constructor(problem, init) {
    const title = problem.title || `HTTP ${init.status}`;
    super(problem.detail ? `${title}: ${problem.detail}` : title, { ...init, body: problem });
    this.name = "ProblemError";
    this.problem = problem;
    this.type = problem.type ?? "about:blank";
    this.title = title;
    this.detail = problem.detail ?? null;
    // Always an array, so that `err.errors.filter(...)` needs no guard.
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
  }
}

export const INVALID_TOKEN = "urn:benben:problem:invalid-token";

/** The error for `response`, whose body (already read as text) is `text`. */
export function errorFor(response, text, method) {
  const init = { status: response.status, headers: response.headers, url: response.url, method };
  const type = response.headers.get("Content-Type") || "";
  if (/json/i.test(type) && text) {
    try {
      const body = JSON.parse(text);
      if (body && typeof body === "object" && !Array.isArray(body) && ("type" in body || "title" in body)) {
        return new ProblemError(body, init);
      }
      return new HttpError(`HTTP ${response.status}`, { ...init, body });
    } catch {
      // Not JSON after all: reported as text below.
    }
  }
  return new HttpError(`HTTP ${response.status} ${response.statusText || ""}`.trim(), { ...init, body: text });
}
