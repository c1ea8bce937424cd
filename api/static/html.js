// HTML built from templates: every value interpolated into `html` is escaped unless it was
// itself built by `html`, so text can never be taken for markup. Pages import this, never app.js.

class Markup {
  constructor(text) {
    this.text = text;
  }

  toString() {
    return this.text;
  }
}

export function escape(value) {
  return String(value ?? "").replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function piece(value) {
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return value.map(piece).join("");
  return escape(value);
}

// A tagged template: html`<td>${text}</td>`; arrays of values (or of html pieces) are joined.
export function html(strings, ...values) {
  return new Markup(strings.reduce((out, s, i) => out + s + (i < values.length ? piece(values[i]) : ""), ""));
}

export function badge(status) {
  return html`<span class="badge ${status}">${status}</span>`;
}
