import type { StepView } from '../engine/state.js';
import { assignRoleColours, renderGanttSvg } from '../report/gantt-svg.js';
import { showDuration } from '../report/format-values.js';
import { escapeHtml as h } from '../report/html-escape.js';
import { REPORT_CSS } from '../report/render-html.js';
import type { Users } from '../engine/users.js';
import type { RunLocation } from '../journal/runs.js';
import type { ClockEstimate } from '../notify/rto-watch.js';
import type { RtoClock } from '../report/model.js';
import { clockForecasts, runningOutput } from './live-details.js';
import type { RunSnapshot, RunSummary } from './runs.js';

const BRIDGE_CSS = `
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1b1f23;background:#fff}
header.bar{display:flex;gap:1em;align-items:center;padding:.5em 1em;background:#0b3d5c;color:#fff}
header.bar a{color:#fff}header.bar form{margin-left:auto}
main{padding:1em}
table.runs,table.steps{border-collapse:collapse;width:100%}
table.runs td,table.runs th,table.steps td,table.steps th{border-bottom:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
.waiting{border:2px solid #E69F00;background:#fff8e6;padding:.5em 1em;margin:.5em 0}
.clocks{display:flex;gap:2em;margin:.5em 0}.clock{padding:.5em 1em;border:1px solid #ccc;max-width:32em}
.clock .elapsed{font-size:1.6em;font-variant-numeric:tabular-nums}.clock .forecast.at-risk{color:#b00020;font-weight:bold}
.state-succeeded{color:#117733}.gate-not-passed{color:#b36b00;font-weight:bold}.state-failed{color:#b00020}.state-running{color:#0072B2}.state-waiting-approval{color:#b36b00;font-weight:bold}
pre.tail{margin:0;font-size:12px;max-width:40em;white-space:pre-wrap}
#flash{padding:.5em 1em}#flash.err{background:#fde7ea}#flash.ok{background:#e6f4ea}
.login{max-width:22em;margin:4em auto}.login label{display:block;margin:.5em 0}.login input{width:100%}
.gantt-wrap{overflow-x:auto}
`;

/**
 * `user`: the logged-in user's name, or `null` on a page shared by every user (the run page: its
 * script fills the name in from `/api/me`), or absent before login.
 */
function page(title: string, body: string, opts: { user?: string | null | undefined; page: string }): string {
  const bar =
    opts.user !== undefined
      ? `<header class="bar"><a href="/">drctl bridge</a><span class="me">${h(opts.user ?? '')}</span><form method="post" action="/logout"><button>Log out</button></form></header>`
      : `<header class="bar"><span>drctl bridge</span></header>`;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${h(title)}</title><style>${REPORT_CSS}${BRIDGE_CSS}</style></head><body data-page="${opts.page}">${bar}<div id="flash" role="status"></div><main>${body}</main><script src="/static/bridge.js"></script></body></html>`;
}

export function loginPage(error?: string): string {
  return page(
    'drctl bridge: log in',
    `<form class="login" method="post" action="/login"><h1>Log in</h1>${error ? `<p class="err" id="login-error">${h(error)}</p>` : ''}<label>User <input name="user" autocomplete="username" required></label><label>Password <input name="password" type="password" autocomplete="current-password" required></label><button type="submit">Log in</button></form>`,
    { page: 'login' },
  );
}

export function runListPage(runs: RunSummary[], user: string): string {
  const rows = runs
    .map(
      (r) =>
        `<tr data-run="${h(r.runId)}"><td><a href="/runs/${encodeURIComponent(r.runId)}">${h(r.runId)}</a></td><td>${h(r.runbook)}${r.drill ? ' (drill)' : ''}${r.dryRun ? ' (dry run)' : ''}</td><td>${h(r.direction)}</td><td class="state-${h(r.status)}">${h(r.status === 'in-progress' && r.live === false ? 'stopped (not running)' : r.status)}${r.waitingApproval.length ? ` · waiting for approval: ${h(r.waitingApproval.join(', '))}` : ''}</td><td>${h(showDuration(r.durationMs))}</td><td>${h(r.rto.technical)}<br>${h(r.rto.compliance)}</td></tr>`,
    )
    .join('');
  return page(
    'drctl bridge: runs',
    `<h1>Runs</h1><table class="runs"><thead><tr><th>Run</th><th>Runbook</th><th>Direction</th><th>Status</th><th>Duration</th><th>RTO</th></tr></thead><tbody>${rows || '<tr><td colspan="6">no runs yet</td></tr>'}</tbody></table>`,
    { user, page: 'list' },
  );
}

/**
 * The run page of a live run: the same for every user (rendered once per snapshot, however many
 * people open it); the script personalises it.
 */
export function runPage(snap: RunSnapshot, users: Users, loc: RunLocation): string {
  return page(
    `drctl bridge: ${snap.view.runId}`,
    `<div id="live" data-run="${h(snap.view.runId)}" data-gantt-ms="${GANTT_REFRESH_MS}">${liveFragment(snap, users, loc)}</div>`,
    {
      user: null,
      page: 'run',
    },
  );
}

/**
 * The live page fetches its Gantt chart again at most this often (when the summary says it
 * changed): the only part of the page that is not updated from the event stream itself.
 */
export const GANTT_REFRESH_MS = 3000;

/** The people who may approve a waiting step: its roles' members from the runbook and the users file. */
function approvers(s: StepView, users: Users): string[] {
  const a = s.awaiting!;
  const people = new Set(a.members);
  for (const [name, u] of users) if (u.roles.some((r) => a.approvers.includes(r))) people.add(name);
  return [...people].sort();
}

/**
 * A step waiting for approval, with who may approve it (`data-people`). It names no viewer: the
 * page's script personalises the Approve button.
 */
function waitingSection(s: StepView, users: Users): string {
  const a = s.awaiting!;
  const people = approvers(s, users);
  const who = `${a.approvers.map(h).join(' or ')}${people.length ? ` (${people.map(h).join(', ')})` : ' (no members: nobody can approve)'}`;
  return `<section class="waiting" data-waiting="${h(s.id)}" data-people="${h(JSON.stringify(people))}"><h3>${h(s.id)}: ${h(s.title)}</h3><p>${h(a.instructions)}</p><p>May approve: ${who}</p><p class="count">Approvals: ${a.approvedBy.length} of ${a.minApprovals}${a.approvedBy.length ? ` (${a.approvedBy.map(h).join(', ')})` : ''}</p><label>Comment <input data-comment="${h(s.id)}" maxlength="500"></label> <button data-decide="approve" data-step="${h(s.id)}">Approve</button> <button data-decide="reject" data-step="${h(s.id)}">Reject</button></section>`;
}

/** The steps waiting for approval, with their heading (empty when none waits). */
export function waitingHtml(snap: RunSnapshot, users: Users): string {
  const waiting = snap.view.steps.filter((s) => s.state === 'waiting-approval' && s.awaiting);
  return waiting.length
    ? `<h2>Waiting for approval</h2>${waiting.map((s) => waitingSection(s, users)).join('')}`
    : '';
}

/** The two RTO clocks, with the forecast of the remaining critical path while the run is live. */
export function clocksHtml(snap: RunSnapshot, loc: RunLocation): string {
  const { view, model } = snap;
  const forecast = clockForecasts(loc, snap);
  const now = Date.now();
  return [model.rto.technical, model.rto.compliance]
    .map((c) =>
      renderClock(
        c,
        forecast?.find((f) => f.clock === c.name),
        view.finished === undefined,
        now,
      ),
    )
    .join('');
}

/** The RPO evidence of each gate so far (empty when no gate ran). */
export function gatesHtml(snap: RunSnapshot): string {
  const gates = snap.view.steps
    .filter((s) => s.gate)
    .map(
      (s) =>
        `<li data-gate="${h(s.id)}"><strong>${h(s.id)}</strong>: ${h(s.gate!.status)} — ${h(s.gate!.summary)}</li>`,
    )
    .join('');
  return gates ? `<h2>RPO evidence</h2><ul class="gates">${gates}</ul>` : '';
}

/** The steps shown in the table: all but rollback steps that never started. */
export function shownSteps(snap: RunSnapshot): StepView[] {
  return snap.view.steps.filter((s) => !s.rollbackOf || s.state !== 'pending');
}

/** One row of the steps table; `output`: the running steps' last lines (runningOutput). */
export function stepRow(s: StepView, output: Map<string, string[]>): string {
  const approvals = (s.approvals ?? []).map((a) => `${a.decision} by ${a.by}`).join(', ');
  // A running step's last lines, live from its output files; a failed one's from the journal.
  const tail = (output.get(s.id) ?? s.outputTail ?? []).slice(-5).join('\n');
  // A step that succeeded although its gate did not pass (unplanned, or overridden) is not
  // shown as a plain success: the report says "succeeded, gate UNVERIFIED" too.
  const gate = s.gate !== undefined && !s.gate.ok ? s.gate.status : undefined;
  const shown =
    s.state === 'succeeded' && gate !== undefined ? `succeeded, gate ${gate.toUpperCase()}` : s.state;
  return `<tr data-step="${h(s.id)}" data-state="${h(s.state)}"${gate === undefined ? '' : ` data-gate="${h(gate)}"`}><td>${h(s.id)}</td><td>${h(s.title)}</td><td>${h(s.owner)}</td><td class="state state-${h(s.state)}${shown === s.state ? '' : ' gate-not-passed'}">${h(shown)}</td><td class="duration">${h(showDuration(s.durationMs))}</td><td class="tries">${s.attempts}</td><td>${h(approvals)}${s.error ? `<br>${h(s.error)}` : ''}${tail ? `<pre class="tail">${h(tail)}</pre>` : ''}</td></tr>`;
}

/** What the run line says: the outcome, or running / stopped. */
export function runStatusText(snap: RunSnapshot): string {
  const { view } = snap;
  return view.finished
    ? view.finished.status
    : snap.live === false
      ? 'stopped (drctl is not running)'
      : 'running';
}

/** The journal position a snapshot shows: the seq of its last event. */
export function snapshotSeq(snap: RunSnapshot): number {
  return snap.view.events - 1;
}

/** Names the Gantt chart a snapshot draws: it changes with the journal only. */
export function ganttKey(snap: RunSnapshot): string {
  return `g${snap.view.events}`;
}

/** The Gantt chart of a snapshot (the report's). */
export function ganttSvg(snap: RunSnapshot): string {
  return renderGanttSvg(snap.model, assignRoleColours(snap.model));
}

/**
 * The part of the run page that changes, as of one snapshot. The page's script keeps it current
 * from the event stream (journal events and live summaries, live-summary.ts) and fetches it
 * whole only to catch up after a gap.
 */
export function liveFragment(snap: RunSnapshot, users: Users, loc: RunLocation): string {
  const { view, model } = snap;
  const output = runningOutput(loc, snap);
  const rows = shownSteps(snap)
    .map((s) => stepRow(s, output))
    .join('');
  const status = runStatusText(snap);
  return `<div data-status="${h(status)}" data-seq="${snapshotSeq(snap)}" data-gantt="${ganttKey(snap)}"${view.finished ? ' data-finished="1"' : ''}><h1>${h(view.runbook.name)} <small>${h(view.runId)}</small></h1><p>Status: <strong class="run-status">${h(status)}</strong> · ${h(view.direction)}${view.drill ? ' · drill' : ''} · <span class="run-duration">${h(showDuration(model.run.durationMs))}</span> · <span class="run-events">${view.events}</span> events</p><div class="waiting-list">${waitingHtml(snap, users)}</div><div class="clocks">${clocksHtml(snap, loc)}</div><div class="gantt-wrap">${ganttSvg(snap)}</div><div class="gates-list">${gatesHtml(snap)}</div><h2>Steps</h2><table class="steps"><thead><tr><th>Step</th><th>Title</th><th>Owner</th><th>State</th><th>Duration</th><th>Tries</th><th>Notes</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

/**
 * Seconds-granular duration, the same in the page's script (so a tick does not change the style):
 * `42s`, `4m05s`, `1h02m05s`.
 */
function clockText(ms: number): string {
  const t = Math.max(0, Math.floor(ms / 1000));
  const hh = Math.floor(t / 3600);
  const mm = Math.floor((t % 3600) / 60);
  const ss = t % 60;
  const p = (n: number): string => String(n).padStart(2, '0');
  return hh > 0 ? `${hh}h${p(mm)}m${p(ss)}s` : mm > 0 ? `${mm}m${p(ss)}s` : `${ss}s`;
}

/**
 * One RTO clock: its elapsed time against the objective (ticking in the page while it runs), the
 * forecast of when it stops from the remaining critical path, and the report's verdict.
 */
function renderClock(c: RtoClock, f: ClockEstimate | undefined, live: boolean, now: number): string {
  const objective = c.objectiveMs === undefined ? 'no objective' : `objective ${clockText(c.objectiveMs)}`;
  const open = live && c.status === 'not-reached' && c.startedAt !== undefined;
  const elapsed =
    c.elapsedMs === undefined
      ? '<span class="elapsed">not started</span>'
      : `<span class="elapsed"${open ? ` data-since="${Date.parse(c.startedAt!)}" data-now="${now}"` : ''}>${clockText(c.elapsedMs)}</span> elapsed`;
  let fc = '';
  if (live && f !== undefined && !f.reached) {
    if (f.forecastMs === undefined) {
      fc = `<span class="forecast">no forecast: step ${h(f.to)} is not going to run</span>`;
    } else {
      const margin = f.objectiveMs - f.forecastMs;
      const verdict =
        margin >= 0 ? `on track, ${clockText(margin)} to spare` : `forecast to miss by ${clockText(-margin)}`;
      fc = `<span class="forecast${margin < 0 ? ' at-risk' : ''}" data-forecast-ms="${Math.round(f.forecastMs)}" data-remaining-ms="${Math.round(f.remainingMs ?? 0)}">forecast ${clockText(f.forecastMs)} (${clockText(f.remainingMs ?? 0)} of critical path to go until ${h(f.to)} ends): ${verdict}</span>`;
    }
  }
  return `<div class="clock" data-clock="${c.name}" data-status="${h(c.status)}"><strong>${c.name} RTO</strong> <small>${objective}</small><br>${elapsed}${fc ? `<br>${fc}` : ''}<br><small class="verdict">${h(c.verdict)}</small></div>`;
}

/**
 * The page's one script: live updates from the event stream, and the approve/reject buttons.
 *
 * Journal events (`event: journal`) move the step rows at once (state, tries); the live summary
 * (`event: live`, live-summary.ts, about once a second, shared by every viewer) brings the
 * clocks and forecast, output lines, durations, waiting approvals and RPO evidence, and the rows
 * that changed since the previous summary. `have` is the journal seq the rows show: a summary
 * older than it is skipped; one whose delta starts after it (`base > have`: the page missed a
 * summary) makes the page fetch the live fragment once. The events that arrived after the
 * summary's snapshot are applied again on top of it. The Gantt chart is fetched alone when the
 * summary names a new one, at most every `data-gantt-ms`. Nothing is fetched on a timer.
 */
export const BRIDGE_JS = `'use strict';
(function () {
  var flash = document.getElementById('flash');
  function say(text, ok) { flash.textContent = text; flash.className = ok ? 'ok' : 'err'; }
  if (document.body.dataset.page === 'list') { setInterval(function () { location.reload(); }, 5000); return; }
  var live = document.getElementById('live');
  if (!live) return;
  var run = live.dataset.run;
  var me;
  var base = '/runs/' + encodeURIComponent(run);
  var root = function () { return live.firstElementChild; };
  var have = Number(root().dataset.seq);
  var recent = [];
  var gantt = root().dataset.gantt;
  var ganttAt = Date.now();
  var ganttMs = Number(live.dataset.ganttMs) || 3000;
  var ganttTimer = null;
  var wantGantt = gantt;
  var resyncing = false;
  var lastWaiting = null;
  var loadedAt = Date.now();
  function $(sel) { return live.querySelector(sel); }
  function keepComments(fn) {
    var focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.comment : undefined;
    var comments = {};
    live.querySelectorAll('input[data-comment]').forEach(function (i) { comments[i.dataset.comment] = i.value; });
    fn();
    live.querySelectorAll('input[data-comment]').forEach(function (i) {
      if (comments[i.dataset.comment]) i.value = comments[i.dataset.comment];
      if (focused === i.dataset.comment) i.focus();
    });
  }
  // Summaries name nobody: the Approve button says who clicks it, and whether they may.
  function personalize() {
    if (me === undefined) return;
    live.querySelectorAll('section[data-waiting]').forEach(function (s) {
      var people = JSON.parse(s.dataset.people || '[]');
      var b = s.querySelector('button[data-decide=approve]');
      if (!b) return;
      b.textContent = 'Approve as ' + me;
      if (people.indexOf(me) < 0) b.title = 'you are not a member of an allowed role';
      else b.removeAttribute('title');
    });
  }
  function row(id) { return $('tr[data-step="' + CSS.escape(id) + '"]'); }
  var STATES = { 'step-started': 'running', 'step-skipped': 'skipped', 'approval-requested': 'waiting-approval' };
  function fold(ev) {
    var state = ev.type === 'step-finished' ? ev.status : STATES[ev.type];
    var tr = ev.step !== undefined && state ? row(ev.step) : null;
    var gr = ev.type === 'gate-result' && ev.step !== undefined && ev.result ? row(ev.step) : null;
    if (gr && ev.result.ok) delete gr.dataset.gate;
    else if (gr) gr.dataset.gate = ev.result.status;
    if (tr) {
      tr.dataset.state = state;
      var td = tr.querySelector('td.state');
      var gate = state === 'succeeded' && tr.dataset.gate;
      td.className = 'state state-' + state + (gate ? ' gate-not-passed' : '');
      td.textContent = gate ? 'succeeded, gate ' + gate.toUpperCase() : state;
      var tries = ev.type === 'step-started' ? ev.attempt : ev.type === 'step-finished' ? ev.attempts : undefined;
      if (tries !== undefined) tr.querySelector('td.tries').textContent = String(tries);
    }
    var n = $('.run-events');
    if (n && ev.seq + 1 > Number(n.textContent)) n.textContent = String(ev.seq + 1);
  }
  function onJournal(e) {
    var ev;
    try { ev = JSON.parse(e.data); } catch (x) { return; }
    if (ev.seq <= have) return;
    recent.push(ev);
    fold(ev);
  }
  function replace(sel, html) { var el = $(sel); if (el) el.innerHTML = html; }
  function apply(s) {
    var r = root();
    r.dataset.status = s.status;
    if (s.finished) r.dataset.finished = '1';
    $('.run-status').textContent = s.status;
    $('.run-duration').textContent = s.duration;
    if (s.waiting !== lastWaiting) {
      lastWaiting = s.waiting;
      keepComments(function () { replace('.waiting-list', s.waiting); personalize(); });
    }
    replace('.clocks', s.clocks);
    loadedAt = Date.now();
    replace('.gates-list', s.gates);
    var body = $('table.steps tbody');
    Object.keys(s.rows).forEach(function (id) {
      var t = document.createElement('tbody');
      t.innerHTML = s.rows[id];
      var tr = row(id);
      if (tr) tr.replaceWith(t.firstElementChild); else body.appendChild(t.firstElementChild);
    });
    have = s.seq;
    recent = recent.filter(function (ev) { return ev.seq > have; });
    recent.forEach(fold);
    $('.run-events').textContent = String(Math.max(s.events, have + 1 + recent.length));
    if (s.gantt !== gantt) loadGantt(s.gantt);
  }
  function onLive(e) {
    var s;
    try { s = JSON.parse(e.data); } catch (x) { return; }
    if (resyncing || s.seq < have) return;
    if (s.base > have) { resync(); return; }
    apply(s);
  }
  // A missed summary: the rows are fetched whole once, from the journal as it is now.
  function resync() {
    resyncing = true;
    fetch(base + '/live', { credentials: 'same-origin' }).then(function (r) {
      if (r.status === 401) { location.reload(); return null; }
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (!html) return;
      keepComments(function () { live.innerHTML = html; personalize(); });
      have = Number(root().dataset.seq);
      gantt = root().dataset.gantt;
      lastWaiting = null;
      loadedAt = Date.now();
      recent = recent.filter(function (ev) { return ev.seq > have; });
      recent.forEach(fold);
    }).catch(function () {}).finally(function () { resyncing = false; });
  }
  function loadGantt(key) {
    wantGantt = key;
    if (ganttTimer !== null) return;
    ganttTimer = setTimeout(function () {
      ganttTimer = null;
      ganttAt = Date.now();
      var asked = wantGantt;
      fetch(base + '/gantt', { credentials: 'same-origin', headers: { 'if-none-match': '"' + gantt + '"' } }).then(function (r) {
        return r.status === 200 ? r.text() : null;
      }).then(function (svg) {
        if (svg) { replace('.gantt-wrap', svg); gantt = asked; }
      }).catch(function () {});
    }, Math.max(0, ganttAt + ganttMs - Date.now()));
  }
  function clockText(ms) {
    var t = Math.max(0, Math.floor(ms / 1000)), hh = Math.floor(t / 3600), mm = Math.floor((t % 3600) / 60), ss = t % 60;
    function p(n) { return (n < 10 ? '0' : '') + n; }
    return hh > 0 ? hh + 'h' + p(mm) + 'm' + p(ss) + 's' : mm > 0 ? mm + 'm' + p(ss) + 's' : ss + 's';
  }
  // Open clocks tick every second between summaries, on the server's clock (data-now).
  function tick() {
    live.querySelectorAll('[data-since]').forEach(function (el) {
      var serverNow = Number(el.dataset.now) + (Date.now() - loadedAt);
      el.textContent = clockText(serverNow - Number(el.dataset.since));
    });
  }
  setInterval(tick, 1000);
  // The page is the same for everyone: who is looking, once.
  fetch('/api/me', { credentials: 'same-origin' }).then(function (r) { return r.ok ? r.json() : null; }).then(function (j) {
    if (!j) return;
    me = j.user;
    document.querySelector('header .me').textContent = me;
    personalize();
  }).catch(function () {});
  if (!root().dataset.finished) {
    // From the page's own snapshot on: no backlog. A reconnect sends Last-Event-ID instead.
    var es = new EventSource('/api/runs/' + encodeURIComponent(run) + '/events?form=page&after=' + have);
    es.addEventListener('journal', onJournal);
    es.addEventListener('live', onLive);
    es.addEventListener('end', function () { es.close(); setTimeout(function () { location.reload(); }, 300); });
  }
  live.addEventListener('click', function (e) {
    var b = e.target.closest ? e.target.closest('button[data-decide]') : null;
    if (!b) return;
    var step = b.dataset.step;
    var input = live.querySelector('input[data-comment="' + CSS.escape(step) + '"]');
    b.disabled = true;
    fetch('/api/runs/' + encodeURIComponent(run) + '/steps/' + encodeURIComponent(step) + '/' + b.dataset.decide, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ comment: input ? input.value : '' })
    }).then(function (r) { return r.json().then(function (j) { return [r.status, j]; }); })
      .then(function (x) { say(x[1].message || x[1].error || ('HTTP ' + x[0]), x[0] === 200); })
      .catch(function (err) { say(String(err), false); })
      .finally(function () { b.disabled = false; });
  });
})();
`;
