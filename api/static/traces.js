// A run's traces on the page: the event stream's slices appended as they come, and what the
// charts draw of them (a step range, thinned to what a screen shows).

// `entries` (GET /v1/meta's result_entries) names, per part, the keys that hold one entry per
// step (per probe for hidden_grad and dynamics); the rest (time_steps, layers) describe the part.

function appendEntries(into, part, keys) {
  for (const [key, value] of Object.entries(part)) {
    if ((keys && !keys.includes(key)) || into[key] == null) into[key] = value;
    else if (Array.isArray(value)) for (const entry of value) into[key].push(entry);
    else if (value !== null && typeof value === "object") appendEntries(into[key], value, null);
  }
}

// Adds a slice (shaped like a result without its summary, holding only new entries) to `held`.
export function appendSlice(held, slice, entries) {
  for (const [name, part] of Object.entries(slice)) {
    if (held[name] == null) held[name] = part && structuredClone(part);
    else if (part != null) appendEntries(held[name], part, entries[name]);
  }
}

function pick(part, keys, indices) {
  const out = {};
  for (const [key, value] of Object.entries(part)) {
    if (keys && !keys.includes(key)) out[key] = value;
    else if (Array.isArray(value)) out[key] = indices.map((i) => value[i]);
    else if (value !== null && typeof value === "object") out[key] = pick(value, null, indices);
    else out[key] = value;
  }
  return out;
}

// Indices of about `max` of the chosen entries: the first, the last and, in each bucket between,
// every series' minimum and maximum, so spikes survive as with the server's max_points.
function thin(chosen, series, max) {
  if (chosen.length <= max) return chosen;
  const buckets = Math.max(1, Math.floor((max - 2) / (2 * Math.max(series.length, 1))));
  const kept = new Set([chosen[0], chosen.at(-1)]);
  const inner = chosen.length - 2;
  for (let b = 0; b < buckets; b++) {
    const start = 1 + Math.floor((b * inner) / buckets);
    const stop = 1 + Math.floor(((b + 1) * inner) / buckets);
    for (const values of series) {
      let low = null;
      let high = null;
      for (let k = start; k < stop; k++) {
        const v = values[chosen[k]];
        if (v == null) continue;
        if (low === null || v < values[low]) low = chosen[k];
        if (high === null || v > values[high]) high = chosen[k];
      }
      if (low !== null) kept.add(low).add(high);
    }
  }
  return [...kept].sort((a, b) => a - b);
}

// The series whose extremes thinning keeps, per drawn part.
const SERIES = {
  loss: (p) => [p.loss, p.metric],
  grad_norm: (p) => [p.total, p.clipped_total],
  weight_change: (p) => Object.values(p.per_layer),
  hidden_grad: (p) => [p.norm.map((probe) => probe[0][0]), p.norm.map((probe) => probe[0].at(-1))],
};

// The drawn parts of `held`, each thinned to about `maxPoints` entries; the per-step parts
// only within range {from, to} (null ends are open). Probes are not cut by the range: the
// heatmap cuts its rows itself, and the probe picker offers them all.
export function view(held, range, maxPoints, entries) {
  const out = {};
  for (const [name, series] of Object.entries(SERIES)) {
    const part = held[name];
    if (part == null) {
      out[name] = null;
      continue;
    }
    const inRange = (step) => name === "hidden_grad"
      || ((range.from == null || step >= range.from) && (range.to == null || step <= range.to));
    const chosen = part.step.flatMap((step, i) => (inRange(step) ? [i] : []));
    out[name] = pick(part, entries[name], thin(chosen, series(part), maxPoints));
  }
  return out;
}
