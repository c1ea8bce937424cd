// Talking to the service: JSON calls and event streams, with the API key the user entered.
// Streams are read with fetch rather than EventSource, which cannot send an Authorization header.

const KEY_STORAGE = "gradflow-api-key";

export function apiKey() {
  return localStorage.getItem(KEY_STORAGE) || "";
}

export function setApiKey(key) {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
  metaRead = null;
}

function headers(extra = {}) {
  const key = apiKey();
  return key ? { ...extra, Authorization: `Bearer ${key}` } : extra;
}

export async function api(path, { method = "GET", body } = {}) {
  const response = await fetch(path, {
    method,
    headers: headers(body ? { "Content-Type": "application/json" } : {}),
    body: body ? JSON.stringify(body) : undefined,
  });
  const data = response.status === 204 ? null : await response.json();
  if (!response.ok) {
    const detail = Array.isArray(data?.detail)
      ? data.detail.map((e) => `${e.loc.slice(1).join(".")}: ${e.msg}`).join("\n")
      : data?.detail || response.statusText;
    throw new Error(detail);
  }
  return data;
}

// GET /v1/meta, read once: the server's facts (statuses, limits, result layout) the pages use.
let metaRead = null;
export function meta() {
  metaRead ??= api("/v1/meta").catch((error) => {
    metaRead = null;
    throw error;
  });
  return metaRead;
}

export async function download(path, filename) {
  const response = await fetch(path, { headers: headers() });
  if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(await response.blob());
  link.download = filename;
  link.click();
  URL.revokeObjectURL(link.href);
}

function parseFrame(frame) {
  const event = { name: "message", data: "", id: null };
  for (const line of frame.split("\n")) {
    if (!line || line.startsWith(":")) continue;
    const at = line.indexOf(":");
    const key = at < 0 ? line : line.slice(0, at);
    const value = at < 0 ? "" : line.slice(at + 1).replace(/^ /, "");
    if (key === "event") event.name = value;
    else if (key === "data") event.data += value;
    else if (key === "id") event.id = value;
  }
  return event.data ? { ...event, data: JSON.parse(event.data) } : null;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Calls onEvent({name, data, id}) for each event until the `end` event or until `signal`
// aborts; reconnects (at most 100 times) from the last id received. Every failure is logged and
// given to onError (a refused stream, 4xx, ends the following; anything else is retried).
export async function follow(path, onEvent, signal, onError) {
  let lastId = null;
  for (let attempt = 0; attempt < 100 && !signal.aborted; attempt++) {
    try {
      const extra = { Accept: "text/event-stream" };
      if (lastId !== null) extra["Last-Event-ID"] = lastId;
      const response = await fetch(path, { headers: headers(extra), signal });
      if (response.status === 204 || response.status === 404) return;
      if (!response.ok) {
        const error = new Error(`${path}: ${response.status} ${response.statusText}`);
        error.final = response.status < 500;
        throw error;
      }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const event = parseFrame(buffer.slice(0, cut));
          buffer = buffer.slice(cut + 2);
          if (!event) continue;
          if (event.id !== null) lastId = event.id;
          await onEvent(event);
          if (event.name === "end") return;
        }
      }
    } catch (error) {
      if (signal.aborted) return;
      console.warn(`event stream ${path}:`, error);
      onError(error);
      if (error.final) return;
    }
    await sleep(1000);
  }
}
