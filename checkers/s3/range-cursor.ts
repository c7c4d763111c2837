import type { S3Client } from '@aws-sdk/client-s3';
import { DrctlError, ExitCode } from '../../shared/errors.js';
import { listPage } from './client.js';
import { withDeadline } from './deadline.js';
import { describeS3Error } from './errors.js';
import { ListedObject } from './list-xml.js';
import type { KeyRange } from './split-points.js';

/** The server listed keys out of byte order: a merge would give wrong answers, so we stop. */
export class ListingOrderError extends DrctlError {}

/** Where one side's objects come from: a bucket (and prefix) through a client, or nothing. */
export interface ListingSource {
  side: 'source' | 'target';
  /** undefined: the bucket does not exist on this side; it lists as empty. */
  client: S3Client | undefined;
  /** For messages: the endpoint without credentials. */
  endpoint: string;
  bucket: string;
  prefix: string;
  /** Deadline of one request, retries included. */
  timeoutMs: number;
  /** Keys per listing page; default (and S3's maximum) 1000. Tests use small pages. */
  pageSize?: number | undefined;
}

interface Fetched {
  objects: ListedObject[];
  more: boolean;
}

/**
 * Streams one side's keys of one range, in strictly increasing byte order (checked), with one
 * page prefetched: at most two pages (2,000 keys) in memory. The range may narrow while it is
 * listed (it was split); keys beyond it are left to the pieces that were split off.
 */
export class RangeCursor {
  private page: ListedObject[] = [];
  private index = 0;
  private pending: Promise<Fetched> | undefined;
  private last: Buffer | undefined;
  private done: boolean;
  private readonly prefixBytes: Buffer;
  pages = 0;

  constructor(
    private readonly src: ListingSource,
    private readonly range: KeyRange,
    private readonly signal: AbortSignal,
  ) {
    this.done = src.client === undefined;
    this.prefixBytes = Buffer.from(src.prefix, 'utf8');
  }

  /** The last key fetched (the listing's position); undefined before the first page. */
  get position(): Buffer | undefined {
    return this.last;
  }

  /** True while the listing of this range has more pages to fetch. */
  get hasMore(): boolean {
    return !this.done;
  }

  /** The first key of the page being consumed (for split guesses). */
  get pageFirst(): Buffer | undefined {
    return this.page[0]?.key;
  }

  private fetch(): Promise<Fetched> {
    const { client, bucket, prefix, side, endpoint, timeoutMs, pageSize } = this.src;
    const startAfter = this.last === undefined ? this.range.startAfter : this.last.toString('utf8');
    const listPrefix = prefix + this.range.within.toString('utf8');
    return withDeadline(
      { side, endpoint, timeoutMs, signal: this.signal },
      `listing bucket ${bucket}`,
      (sig) =>
        listPage(
          client!,
          bucket,
          listPrefix,
          startAfter === undefined ? undefined : prefix + startAfter,
          sig,
          pageSize,
        ),
    ).then(
      (page) => {
        this.pages++;
        const n = this.prefixBytes.length;
        const objects: ListedObject[] = [];
        for (const o of page.objects) {
          if (n > 0 && !o.key.subarray(0, n).equals(this.prefixBytes)) {
            throw this.orderError(
              `listed key ${JSON.stringify(o.name)} is outside prefix ${JSON.stringify(prefix)}`,
            );
          }
          const key = n > 0 ? o.key.subarray(n) : o.key;
          objects.push(n > 0 ? new ListedObject(key, o.size, o.etag, o.lastModified) : o);
        }
        return { objects, more: page.isTruncated };
      },
      (err: unknown) => {
        throw describeS3Error(err, { side, endpoint, bucket, during: `while listing bucket ${bucket}` });
      },
    );
  }

  private orderError(what: string): ListingOrderError {
    return new ListingOrderError(
      `${this.src.side} listing of bucket ${this.src.bucket} is not in strictly increasing byte order: ${what}; refusing to compare`,
      {
        exitCode: ExitCode.usage,
        hint: 'the S3 server broke the ListObjectsV2 ordering guarantee; a merge of such listings would report wrong differences',
      },
    );
  }

  /**
   * The next object without waiting when it is already in memory: the object, undefined at the
   * end of the range, or null when the next page must be awaited (call next()).
   */
  tryNext(): ListedObject | undefined | null {
    const { range } = this;
    while (this.index < this.page.length) {
      const o = this.page[this.index++]!;
      if (range.from !== undefined && Buffer.compare(o.key, range.from) < 0) continue;
      if (range.before !== undefined && Buffer.compare(o.key, range.before) >= 0) {
        this.done = true;
        this.page = [];
        return undefined;
      }
      return o;
    }
    return this.done ? undefined : null;
  }

  /** The next object in the range, or undefined at its end. */
  async next(): Promise<ListedObject | undefined> {
    const { range } = this;
    for (;;) {
      const ready = this.tryNext();
      if (ready !== null) return ready;
      const { objects, more } = await (this.pending ?? this.fetch());
      this.pending = undefined;
      const within = range.within;
      for (const o of objects) {
        if (this.last !== undefined && Buffer.compare(o.key, this.last) <= 0) {
          throw this.orderError(
            `${JSON.stringify(o.name)} came after ${JSON.stringify(this.last.toString('utf8'))}`,
          );
        }
        if (
          within.length > 0 &&
          !o.key.subarray(0, within.length).equals(within) &&
          Buffer.compare(o.key, within) < 0
        ) {
          throw this.orderError(`${JSON.stringify(o.name)} is below the requested prefix`);
        }
        this.last = o.key;
      }
      this.page = objects;
      this.index = 0;
      const beyond =
        range.before !== undefined && this.last !== undefined && Buffer.compare(this.last, range.before) >= 0;
      if (!more || objects.length === 0 || beyond) this.done = true;
      else {
        this.pending = this.fetch();
        this.pending.catch(() => undefined); // surfaced when awaited
      }
    }
  }
}
