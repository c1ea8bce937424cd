// The verdict of a reproduction run on its sweeps' pages: the claim and its citation, what the
// predicate expects, what it measured, and PASS or FAIL (pending while experiments run,
// undecided when one failed, was cancelled or was deleted). The service decides; this shows.

import { api } from "./api.js";
import { html } from "./html.js";

const WORDS = { passed: "PASS", failed: "FAIL", pending: "pending", undecided: "undecided" };

function measured(run) {
  if (run.status === "pending") {
    const ended = run.experiments - (run.counts.queued || 0) - (run.counts.running || 0);
    return `${ended} of ${run.experiments} experiments ended`;
  }
  if (run.status === "undecided") return run.reason;
  return run.measured;
}

export function verdictBox(run) {
  return html`<h2>Reproduction ${run.name} (${run.scale}, ${run.seeds} seed(s)):
    <span class="verdict-word ${run.status}">${WORDS[run.status]}</span></h2>
    <p class="ident">reproduction run ${run.id}</p>
    <dl class="verdict-facts"><dt>claim</dt><dd>${run.claim} <cite>${run.citation}</cite></dd>
    <dt>expected</dt><dd>${run.expected}</dd><dt>measured</dt><dd class="measured">${measured(run)}</dd></dl>`;
}

// Fills `element` (hidden until then) with the run's verdict; a failed read says so inside it.
export async function showVerdict(element, runId) {
  try {
    element.innerHTML = verdictBox(await api(`/v1/reproductions/runs/${runId}`));
  } catch (error) {
    element.innerHTML = html`<p class="error">verdict unavailable: ${error.message}</p>`;
  }
  element.hidden = false;
}
