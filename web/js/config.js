// Where the API is. In order: `?api=<origin>` in the page's address; else `api_base` from
// `config.json` beside the page (the server that serves the client writes it from its
// `web.api_origin`); else the page's own origin. The page's Content-Security-Policy decides
// which origins it may actually call, so `?api=` cannot point a served client elsewhere.

/** The origin of `text`, or null when it is not an http(s) URL. */
export function originOf(text) {
  try {
    const url = new URL(text);
    return url.protocol === "http:" || url.protocol === "https:" ? url.origin : null;
  } catch {
    return null;
  }
}

export async function apiBase(location = globalThis.location, fetchImpl = globalThis.fetch) {
  const fromQuery = new URLSearchParams(location.search).get("api");
  if (fromQuery) {
    const origin = originOf(fromQuery);
    if (!origin) throw new Error(`?api=${fromQuery} is not an http(s) origin.`);
    return origin;
  }
  try {
    const response = await fetchImpl(new URL("config.json", location.href).href, {
      cache: "no-cache",
    });
    if (response.ok) {
      const { api_base: configured } = await response.json();
      const origin = configured ? originOf(configured) : null;
      if (origin) return origin;
    }
  } catch {
    // Served without a config.json (any static file server): the page's own origin.
  }
  return location.origin;
}
