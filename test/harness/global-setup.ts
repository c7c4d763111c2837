import { setupSharedServers } from './shared-servers.js';

/** Vitest global setup: servers shared by the files of one run, stopped at its end. */
export default function setup(): () => Promise<void> {
  return setupSharedServers();
}
