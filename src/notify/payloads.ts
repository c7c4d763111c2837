import type { NotifyChannel } from '../runbook/schema.js';
import { redactValue } from '../util/redact.js';
import { VERSION } from '../version.js';
import type { Notice } from './notices.js';

/** The run a notice belongs to, as every format names it. */
export interface RunRef {
  id: string;
  runbook: string;
  environment: string;
  direction: string;
  drill: boolean;
}

/** The request body for a channel's format, secrets masked (every string goes through redact). */
export function renderPayload(format: NotifyChannel['format'], notice: Notice, run: RunRef): string {
  // Masked before the layout too: Slack's escaping of & < > would hide a secret from redact.
  const n = redactValue(notice);
  const body = format === 'slack' ? slack(n) : format === 'teams' ? teams(n) : json(n, run);
  return JSON.stringify(redactValue(body));
}

/**
 * A Slack incoming-webhook message (also what Mattermost and Rocket.Chat accept): `text` is the
 * fallback shown in notifications, `blocks` the laid-out message.
 */
function slack(n: Notice): Record<string, unknown> {
  const title = `${MARK[n.severity]} ${n.title}`;
  const fields = n.facts.slice(0, 10).map(([k, v]) => ({ type: 'mrkdwn', text: `*${esc(k)}*\n${esc(v)}` }));
  return {
    text: `${esc(title)}${n.link ? ` <${n.link}|open on the bridge>` : ''}`,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: cut(title, 150), emoji: true } },
      { type: 'section', text: { type: 'mrkdwn', text: cut(esc(n.text), 3000) } },
      ...(fields.length > 0 ? [{ type: 'section', fields }] : []),
      ...(n.link
        ? [{ type: 'section', text: { type: 'mrkdwn', text: `<${n.link}|Open on the bridge>` } }]
        : []),
      { type: 'context', elements: [{ type: 'mrkdwn', text: `drctl ${esc(n.kind)} · ${esc(n.at)}` }] },
    ],
  };
}

/**
 * A Microsoft Teams message with one Adaptive Card, the body a Teams Workflows ("Post to a
 * channel when a webhook request is received") webhook takes; Office 365 connector MessageCards
 * are retired by Microsoft, so they are not sent.
 */
function teams(n: Notice): Record<string, unknown> {
  const color =
    n.severity === 'error'
      ? 'Attention'
      : n.severity === 'warning'
        ? 'Warning'
        : n.severity === 'success'
          ? 'Good'
          : 'Default';
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          msteams: { width: 'Full' },
          body: [
            { type: 'TextBlock', text: n.title, weight: 'Bolder', size: 'Medium', color, wrap: true },
            { type: 'TextBlock', text: n.text, wrap: true },
            ...(n.facts.length > 0
              ? [{ type: 'FactSet', facts: n.facts.map(([title, value]) => ({ title, value })) }]
              : []),
            {
              type: 'TextBlock',
              text: `drctl ${n.kind} · ${n.at}`,
              isSubtle: true,
              size: 'Small',
              wrap: true,
            },
          ],
          ...(n.link
            ? { actions: [{ type: 'Action.OpenUrl', title: 'Open on the bridge', url: n.link }] }
            : {}),
        },
      },
    ],
  };
}

/** The generic document: stable field names for a SIEM, an incident tool or a script. */
function json(n: Notice, run: RunRef): Record<string, unknown> {
  return {
    source: 'drctl',
    version: VERSION,
    schema: 'drctl.notify/v1',
    event: n.kind,
    at: n.at,
    seq: n.cause,
    severity: n.severity,
    run,
    ...(n.about === undefined ? {} : { step: n.about }),
    title: n.title,
    text: n.text,
    facts: Object.fromEntries(n.facts),
    ...(n.link === undefined ? {} : { link: n.link }),
    data: n.data,
  };
}

const MARK: Record<Notice['severity'], string> = {
  info: ':information_source:',
  success: ':white_check_mark:',
  warning: ':warning:',
  error: ':x:',
};

/** Slack's mrkdwn treats &, < and > as control characters. */
function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
