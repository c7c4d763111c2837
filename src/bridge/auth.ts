import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { readUsers, verifyPassword, type UserEntry, type Users } from '../engine/users.js';

/** A logged-in browser or script: the cookie value maps to one of these (in memory only). */
interface Session {
  user: string;
  created: number;
  lastSeen: number;
}

export interface AuthOptions {
  usersFile: string;
  /** Failed logins allowed per user name in `windowMs` before 429 (default 5). */
  perUser?: number | undefined;
  /** Failed logins allowed per client address in `windowMs` before 429 (default 20). */
  perAddress?: number | undefined;
  /** Rate-limit window (default 15 minutes). */
  windowMs?: number | undefined;
  /** A session ends this long after login (default 12 h) or after `idleMs` unused (default 2 h). */
  maxAgeMs?: number | undefined;
  idleMs?: number | undefined;
}

export type LoginResult =
  | { ok: true; token: string; user: string; roles: string[] }
  | { ok: false; status: 401 | 429; error: string; retryAfterS?: number };

/**
 * Logins, sessions and the login rate limit. Sessions live in memory: a restarted server asks
 * everyone to log in again (the runs' state is in their journals, not here). The users file is
 * read again when it changes, so `drctl users remove` ends that user's sessions at once.
 */
export class Auth {
  private readonly sessions = new Map<string, Session>();
  private readonly failures = new Map<string, number[]>();
  private users: Users = new Map();
  private usersStamp = '';

  constructor(private readonly opts: AuthOptions) {
    this.reloadUsers();
  }

  /** The users, re-read when the file's size or mtime changed. */
  currentUsers(): Users {
    this.reloadUsers();
    return this.users;
  }

  private reloadUsers(): void {
    let stamp = 'missing';
    try {
      const st = statSync(this.opts.usersFile);
      stamp = `${st.size}:${st.mtimeMs}`;
    } catch {
      // no file: no users
    }
    if (stamp === this.usersStamp) return;
    this.users = readUsers(this.opts.usersFile);
    this.usersStamp = stamp;
  }

  async login(user: unknown, password: unknown, address: string): Promise<LoginResult> {
    const now = Date.now();
    const name = typeof user === 'string' ? user.slice(0, 64) : '';
    const window = this.opts.windowMs ?? 15 * 60_000;
    const limited = [
      [`user:${name}`, this.opts.perUser ?? 5],
      [`addr:${address}`, this.opts.perAddress ?? 20],
    ] as const;
    for (const [key, limit] of limited) {
      const recent = (this.failures.get(key) ?? []).filter((t) => now - t < window);
      this.failures.set(key, recent);
      if (recent.length >= limit) {
        return {
          ok: false,
          status: 429,
          error: 'too many failed logins: try again later',
          retryAfterS: Math.ceil((recent[0]! + window - now) / 1000),
        };
      }
    }
    const entry: UserEntry | undefined = this.currentUsers().get(name);
    const good =
      typeof password === 'string' &&
      password.length <= 1024 &&
      (await verifyPassword(password, entry?.password));
    if (!good || entry === undefined) {
      for (const [key] of limited) this.failures.set(key, [...(this.failures.get(key) ?? []), now]);
      return { ok: false, status: 401, error: 'wrong user name or password' };
    }
    this.failures.delete(`user:${name}`);
    const token = randomBytes(32).toString('base64url');
    this.sessions.set(token, { user: name, created: now, lastSeen: now });
    return { ok: true, token, user: name, roles: entry.roles };
  }

  /** The session's user (with their current roles), or undefined: expired, unknown or removed. */
  check(token: string | undefined): { user: string; roles: string[] } | undefined {
    if (token === undefined) return undefined;
    const s = this.sessions.get(token);
    if (s === undefined) return undefined;
    const now = Date.now();
    const entry = this.currentUsers().get(s.user);
    if (
      entry === undefined ||
      now - s.created > (this.opts.maxAgeMs ?? 12 * 3_600_000) ||
      now - s.lastSeen > (this.opts.idleMs ?? 2 * 3_600_000)
    ) {
      this.sessions.delete(token);
      return undefined;
    }
    s.lastSeen = now;
    return { user: s.user, roles: entry.roles };
  }

  logout(token: string | undefined): void {
    if (token !== undefined) this.sessions.delete(token);
  }
}
