import { describe, expect, it } from 'vitest';
import { describeS3Error } from '../../checkers/s3/errors.js';
import { correctClockSkew, RawS3Error } from '../../checkers/s3/raw-list.js';

/** The raw listing path's clock-skew correction (the SDK's rule) and what a person reads when it cannot help. */
describe('s3 raw listing: clock skew', () => {
  const httpDate = (ms: number) => new Date(ms).toUTCString();

  it("moves the signing clock to the gateway's only when they differ by 5 minutes or more", () => {
    const config: { systemClockOffset?: number } = {};
    expect(correctClockSkew(config, httpDate(Date.now() + 240_000))).toBe(false);
    expect(config.systemClockOffset).toBeUndefined();
    expect(correctClockSkew(config, httpDate(Date.now() - 3_600_000))).toBe(true);
    expect(Math.abs(config.systemClockOffset! + 3_600_000)).toBeLessThan(2_000);
    // Corrected: the same server clock is now within bounds, nothing changes.
    expect(correctClockSkew(config, httpDate(Date.now() - 3_600_000))).toBe(false);
    // A gateway whose clock is later put right resets the offset.
    expect(correctClockSkew(config, httpDate(Date.now()))).toBe(true);
    expect(Math.abs(config.systemClockOffset!)).toBeLessThan(2_000);
  });

  it('ignores answers without a usable Date header', () => {
    const config = { systemClockOffset: 42 };
    expect(correctClockSkew(config, undefined)).toBe(false);
    expect(correctClockSkew(config, 'not a date')).toBe(false);
    expect(config.systemClockOffset).toBe(42);
  });

  it('a refusal for the request time says so (not "refused the credentials") and names the clock as the fix', () => {
    const err = new RawS3Error('RequestTimeTooSkewed', '', 403);
    const said = describeS3Error(err, { side: 'target', endpoint: 'http://127.0.0.1:7480', bucket: 'docs' });
    expect(said.exitCode).toBe(2);
    expect(said.message).toBe(
      "target http://127.0.0.1:7480 refused the request time for bucket docs: this host's clock and the gateway's differ too much (RequestTimeTooSkewed)",
    );
    expect(said.hint).toMatch(/NTP/);
    expect(said.message).not.toMatch(/credentials/);
  });
});
