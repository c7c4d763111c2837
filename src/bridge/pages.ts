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
.state-succeeded{color:#117733}.state-failed{color:#b00020}.state-running{color:#0072B2}.state-waiting-approval{color:#b36b00;font-weight:bold}
pre.tail{margin:0;font-size:12px;max-width:40em;white-space:pre-wrap}
#flash{padding:.5em 1em}#flash.err{background:#fde7ea}#flash.ok{background:#e6f4ea}
.login{max-width:22em;margin:4em auto}.login label{display:block;margin:.5em 0}.login input{width:100%}
.gantt-wrap{overflow-x:auto}
`;

function page(title: string, body: string, opts: { user?: string | undefined; page: string }): string {
  const bar = opts.user
    ? `<header class="bar"><a href="/">drctl bridge</a><span>${h(opts.user)}</span><form method="post" action="/logout"><button>Log out</button></form></header>`
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

export function runPage(snap: RunSnapshot, user: string, users: Users, loc: RunLocation): string {
  return page(
    `drctl bridge: ${snap.view.runId}`,
    `<div id="live" data-run="${h(snap.view.runId)}">${liveFragment(snap, user, users, loc)}</div>`,
    {
      user,
      page: 'run',
    },
  );
}

/** Who may approve a waiting step: its roles, with the members the runbook and the users file name. */
function mayApprove(s: StepView, users: Users): string {
  const a = s.awaiting!;
  const people = new Set(a.members);
  for (const [name, u] of users) if (u.roles.some((r) => a.approvers.includes(r))) people.add(name);
  return `${a.approvers.map(h).join(' or ')}${people.size ? ` (${[...people].sort().map(h).join(', ')})` : ' (no members: nobody can approve)'}`;
}

/** The part of the run page that changes: re-rendered by the server, swapped in by the script. */
export function liveFragment(snap: RunSnapshot, user: string, users: Users, loc: RunLocation): string {
  const { view, model } = snap;
  const waiting = view.steps.filter((s) => s.state === 'waiting-approval' && s.awaiting);
  const mine = users.get(user)?.roles ?? [];
  const waitingHtml = waiting
    .map((s) => {
      const a = s.awaiting!;
      const allowed = a.approvers.some((r) => mine.includes(r)) || a.members.includes(user);
      return `<section class="waiting" data-waiting="${h(s.id)}"><h3>${h(s.id)}: ${h(s.title)}</h3><p>${h(a.instructions)}</p><p>May approve: ${mayApprove(s, users)}</p><p class="count">Approvals: ${a.approvedBy.length} of ${a.minApprovals}${a.approvedBy.length ? ` (${a.approvedBy.map(h).join(', ')})` : ''}</p><label>Comment <input data-comment="${h(s.id)}" maxlength="500"></label> <button data-decide="approve" data-step="${h(s.id)}"${allowed ? '' : ' title="you are not a member of an allowed role"'}>Approve as ${h(user)}</button> <button data-decide="reject" data-step="${h(s.id)}">Reject</button></section>`;
    })
    .join('');
  const forecast = clockForecasts(loc, snap);
  const now = Date.now();
  const clocks = [model.rto.technical, model.rto.compliance]
    .map((c) =>
      renderClock(
        c,
        forecast?.find((f) => f.clock === c.name),
        view.finished === undefined,
        now,
      ),
    )
    .join('');
  const output = runningOutput(loc, snap);
  const gates = view.steps
    .filter((s) => s.gate)
    .map(
      (s) =>
        `<li data-gate="${h(s.id)}"><strong>${h(s.id)}</strong>: ${h(s.gate!.status)} — ${h(s.gate!.summary)}</li>`,
    )
    .join('');
  const rows = view.steps
    .filter((s) => !s.rollbackOf || s.state !== 'pending')
    .map((s) => {
      const approvals = (s.approvals ?? []).map((a) => `${a.decision} by ${a.by}`).join(', ');
      // A running step's last lines, live from its output files; a failed one's from the journal.
      const tail = (output.get(s.id) ?? s.outputTail ?? []).slice(-5).join('\n');
      return `<tr data-step="${h(s.id)}" data-state="${h(s.state)}"><td>${h(s.id)}</td><td>${h(s.title)}</td><td>${h(s.owner)}</td><td class="state-${h(s.state)}">${h(s.state)}</td><td>${h(showDuration(s.durationMs))}</td><td>${s.attempts}</td><td>${h(approvals)}${s.error ? `<br>${h(s.error)}` : ''}${tail ? `<pre class="tail">${h(tail)}</pre>` : ''}</td></tr>`;
    })
    .join('');
  const status = view.finished
    ? view.finished.status
    : snap.live === false
      ? 'stopped (drctl is not running)'
      : 'running';
  return `<div data-status="${h(status)}"${view.finished ? ' data-finished="1"' : ''}><h1>${h(view.runbook.name)} <small>${h(view.runId)}</small></h1><p>Status: <strong class="run-status">${h(status)}</strong> · ${h(view.direction)}${view.drill ? ' · drill' : ''} · ${h(showDuration(model.run.durationMs))} · ${view.events} events</p>${waiting.length ? `<h2>Waiting for approval</h2>${waitingHtml}` : ''}<div class="clocks">${clocks}</div><div class="gantt-wrap">${renderGanttSvg(model, assignRoleColours(model))}</div>${gates ? `<h2>RPO evidence</h2><ul class="gates">${gates}</ul>` : ''}<h2>Steps</h2><table class="steps"><thead><tr><th>Step</th><th>Title</th><th>Owner</th><th>State</th><th>Duration</th><th>Tries</th><th>Notes</th></tr></thead><tbody>${rows}</tbody></table></div>`;
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

/** The page's one script: live updates from the event stream, and the approve/reject buttons. */
export const BRIDGE_JS = `'use strict';
(function () {
  var flash = document.getElementById('flash');
  function say(text, ok) { flash.textContent = text; flash.className = ok ? 'ok' : 'err'; }
  if (document.body.dataset.page === 'list') { setInterval(function () { location.reload(); }, 5000); return; }
  var live = document.getElementById('live');
  if (!live) return;
  var run = live.dataset.run;
  var base = '/runs/' + encodeURIComponent(run);
  var pending = null;
  function load() {
    pending = null;
    var focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.comment : undefined;
    var comments = {};
    live.querySelectorAll('input[data-comment]').forEach(function (i) { comments[i.dataset.comment] = i.value; });
    fetch(base + '/live', { credentials: 'same-origin' }).then(function (r) {
      if (r.status === 401) { location.reload(); return null; }
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (html === null || html === undefined) return;
      live.innerHTML = html;
      loadedAt = Date.now();
      live.querySelectorAll('input[data-comment]').forEach(function (i) {
        if (comments[i.dataset.comment]) i.value = comments[i.dataset.comment];
        if (focused === i.dataset.comment) i.focus();
      });
    }).catch(function () {});
  }
  function soon() { if (pending === null) pending = setTimeout(load, 150); }
  function clockText(ms) {
    var t = Math.max(0, Math.floor(ms / 1000)), hh = Math.floor(t / 3600), mm = Math.floor((t % 3600) / 60), ss = t % 60;
    function p(n) { return (n < 10 ? '0' : '') + n; }
    return hh > 0 ? hh + 'h' + p(mm) + 'm' + p(ss) + 's' : mm > 0 ? mm + 'm' + p(ss) + 's' : ss + 's';
  }
  // Open clocks tick every second between refreshes, on the server's clock (data-now).
  var loadedAt = Date.now();
  function tick() {
    live.querySelectorAll('[data-since]').forEach(function (el) {
      var serverNow = Number(el.dataset.now) + (Date.now() - loadedAt);
      el.textContent = clockText(serverNow - Number(el.dataset.since));
    });
  }
  setInterval(tick, 1000);
  var es = new EventSource('/api/runs/' + encodeURIComponent(run) + '/events');
  es.addEventListener('journal', soon);
  es.addEventListener('end', function () { es.close(); setTimeout(function () { location.reload(); }, 300); });
  setInterval(function () { if (!live.querySelector('[data-finished]')) load(); }, 2000);
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
      .then(function (x) { say(x[1].message || x[1].error || ('HTTP ' + x[0]), x[0] === 200); soon(); })
      .catch(function (err) { say(String(err), false); })
      .finally(function () { b.disabled = false; });
  });
})();
`;
