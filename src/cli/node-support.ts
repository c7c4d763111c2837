/**
 * drctl's Node.js policy (README "Node.js versions"): tested on 22 and 24; 20 still works but is
 * past its end of life (April 2026), and the AWS SDK's releases after January 2027 need 22, so
 * the first drctl release after that will too.
 */
export const TESTED_NODE_MAJORS = [22, 24] as const;

/**
 * The one-line notice for an operator on a Node older than 22, or undefined. Shown only at the
 * start of an interactive `switch`, where someone can act on it before the night; scripts, CI
 * and the other commands stay quiet.
 */
export function nodeSupportNotice(version: string = process.versions.node): string | undefined {
  const major = Number(version.split('.')[0]);
  if (!Number.isInteger(major) || major >= TESTED_NODE_MAJORS[0]) return undefined;
  return `Node ${version} is past its end of life; drctl is tested on Node 22 and 24 and will need 22 from its first release after January 2027: upgrade this host's Node (README: Node.js versions)`;
}
