import { describe, expect, it } from 'vitest';
import { autoConcurrency, REMOTE_CONCURRENCY } from '../../checkers/s3/auto-concurrency.js';

describe('s3 auto concurrency', () => {
  it('lists one range per two cores when a server shares this host, at least one', () => {
    expect(autoConcurrency(['http://127.0.0.1:7480', 'http://127.0.0.1:7481'], 2)).toBe(1);
    expect(autoConcurrency(['http://localhost:9000', 'https://s3.dr.example'], 8)).toBe(4);
    expect(autoConcurrency(['http://[::1]:9000', undefined], 1)).toBe(1);
  });

  it('lists several ranges against remote servers (and AWS, no endpoint), whatever the cores', () => {
    expect(autoConcurrency(['https://s3.main.example', 'https://s3.dr.example'], 2)).toBe(REMOTE_CONCURRENCY);
    expect(autoConcurrency([undefined, undefined], 2)).toBe(REMOTE_CONCURRENCY);
    expect(autoConcurrency(['not a url', 'http://10.0.0.7:7480'], 16)).toBe(REMOTE_CONCURRENCY);
  });
});
