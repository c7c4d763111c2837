/** Evidence fields a reviewer looks for first: replication positions, endpoints, versions, catch-up. */
const KEY_FIELD = /(position|gtid|pos$|display|version|caughtup|behind|bucket|index|endpoint|cluster)/i;
const SKIP_BRANCH = /^(raw|tables|findings|fixsqlfiles)$/i;
const MAX_KEYS = 14;

/**
 * Picks the telling scalar fields out of a checker's evidence (any checker: it goes by names),
 * as dotted paths such as `gtid.primaryPosition`, in the order the checker wrote them.
 */
export function pickKeyEvidence(evidence: Record<string, unknown>): { key: string; value: string }[] {
  const out: { key: string; value: string }[] = [];
  const visit = (value: unknown, path: string[], depth: number): void => {
    if (out.length >= MAX_KEYS) return;
    if (value === null || value === undefined) return;
    if (typeof value === 'object' && !Array.isArray(value)) {
      if (depth >= 3) return;
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (SKIP_BRANCH.test(k)) continue;
        visit(v, [...path, k], depth + 1);
      }
      return;
    }
    const key = path.join('.');
    if (!KEY_FIELD.test(key)) return;
    const text = Array.isArray(value)
      ? value.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ')
      : typeof value === 'string'
        ? value
        : JSON.stringify(value);
    if (text.length > 0 && text.length <= 200) out.push({ key, value: text });
  };
  visit(evidence, [], 0);
  return out;
}
