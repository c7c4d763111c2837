import { splitStatements } from '../util/sql-statements.js';
import type { Diagnostics, Origin } from './diagnostics.js';
import { findPlaceholders } from './interpolate.js';
import type { Action, Resource, Step } from './schema.js';

/**
 * Action fields that would only fail on the night: a sql string holding several statements, an
 * http url that is not absolute, a bodyMatches that is not a regular expression. Checked for the
 * step's action, its rollback and drill actions, and a wait's condition.
 */
export function checkActionFields(
  step: Step,
  origin: Origin,
  resources: Record<string, Resource>,
  diags: Diagnostics,
): void {
  const check = (action: Action, prefix: string[]): void => {
    switch (action.kind) {
      case 'wait':
        check(action.until, [...prefix, 'wait', 'until']);
        return;
      case 'sql':
        checkSql(action, origin, prefix, diags);
        return;
      case 'http':
        checkHttp(step, action, origin, prefix, resources, diags);
        return;
      case 'run':
      case 'redis':
      case 'manual':
      case 'check':
        return;
    }
  };
  check(step.action, []);
  if (step.rollback) check(step.rollback.action, ['rollback']);
  if (step.drill.mode === 'action') check(step.drill.action, ['drill']);
}

function checkSql(
  action: Extract<Action, { kind: 'sql' }>,
  origin: Origin,
  prefix: string[],
  diags: Diagnostics,
): void {
  const list = action.sql.statements;
  const items = typeof list === 'string' ? [list] : list;
  items.forEach((text, i) => {
    const count = splitStatements(text).length;
    if (count > 1) {
      diags.at(
        origin,
        [...prefix, 'sql', 'statements', ...(typeof list === 'string' ? [] : [i])],
        `this text holds ${count} SQL statements; a sql step runs one statement per list item`,
        {
          hint: 'write statements: as a list, one statement per item: ["UPDATE …", "SELECT …"]',
        },
      );
    }
  });
}

function checkHttp(
  step: Step,
  action: Extract<Action, { kind: 'http' }>,
  origin: Origin,
  prefix: string[],
  resources: Record<string, Resource>,
  diags: Diagnostics,
): void {
  const h = action.http;
  const resource = h.resource ?? httpResourceOf(step, resources);
  // A placeholder for a missing secret: validate runs without the env; the url is checked when it is known.
  const unknown = findPlaceholders(h.url).length > 0;
  if (!unknown && !isAbsoluteHttpUrl(h.url) && !(resource !== undefined && h.url.startsWith('/'))) {
    diags.at(
      origin,
      [...prefix, 'http', 'url'],
      `url ${JSON.stringify(h.url)} is not an absolute http(s) URL`,
      {
        hint: resource
          ? 'write https://host/path, or a path starting with / under the resource url'
          : 'write https://host/path, or name an http resource (http.resource) and give a path starting with /',
      },
    );
  }
  if (h.expect?.bodyMatches !== undefined) {
    try {
      new RegExp(h.expect.bodyMatches);
    } catch (err) {
      diags.at(
        origin,
        [...prefix, 'http', 'expect', 'bodyMatches'],
        `bodyMatches is not a valid regular expression: ${(err as Error).message}`,
        {
          hint: 'escape special characters with \\ (e.g. \\( \\. \\[), or use expect.body for a plain substring',
        },
      );
    }
  }
}

/** The http resource a step's `resource:` names, when no http.resource is given. */
export function httpResourceOf(step: Step, resources: Record<string, Resource>): string | undefined {
  return step.resources.find((name) => resources[name]?.kind === 'http');
}

function isAbsoluteHttpUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}
