/**
 * Tasks being sent and results being received now, per site: what a slow round is waiting on.
 * Over a slow hospital link an update took minutes to arrive, and the status said only
 * "waiting for" the site (an outside try): a site receiving its task or sending its result
 * slowly read like one still training, or hung.
 */
import { sizeText } from '../shared/transport/transfer-progress.ts';

export interface UploadInFlight {
  round: number;
  receivedBytes: number;
  totalBytes: number;
}

/** One upload's counter: its bytes as they come, and its end. */
export interface UploadHandle {
  add(bytes: number): void;
  end(): void;
}

export class TransfersInFlight {
  private readonly uploads = new Map<string, UploadInFlight>();
  /** Per site, the round whose task is being written to it now. */
  private readonly tasks = new Map<string, { round: number }>();

  /** A verified result of `totalBytes` (its signed claim) began to arrive from `site`; the handle counts it and ends it. */
  begin(site: string, round: number, totalBytes: number): UploadHandle {
    const u: UploadInFlight = { round, receivedBytes: 0, totalBytes };
    this.uploads.set(site, u);
    return {
      add: (bytes) => void (u.receivedBytes += bytes),
      // Received whole, refused or cut off; another upload begun since is left standing.
      end: () => void (this.uploads.get(site) === u && this.uploads.delete(site)),
    };
  }

  of(site: string): Readonly<UploadInFlight> | undefined {
    return this.uploads.get(site);
  }

  /** Round `round`'s task began to be written to `site`; the returned function ends it (written or failed). */
  sendingTask(site: string, round: number): () => void {
    const t = { round };
    this.tasks.set(site, t);
    return () => void (this.tasks.get(site) === t && this.tasks.delete(site));
  }

  /**
   * What a site's failure at round `round`'s deadline should add: its result still arriving, or its
   * task still being sent (a site cut off with half its result in read "no answer": a re-try).
   */
  deadlineNote(site: string, round: number): string | undefined {
    const u = this.uploads.get(site);
    const slow = 'a slow link? quorum.roundDeadlineSeconds sets how long a round waits';
    if (u?.round === round) return `its result was still arriving (${sizeText(u.receivedBytes)} of ${sizeText(u.totalBytes)} in): ${slow}`;
    if (this.tasks.get(site)?.round === round) return `its task was still being sent to it: ${slow}`;
    return undefined;
  }

  /** The round whose task is being written to `site` now, if any. */
  taskTo(site: string): number | undefined {
    return this.tasks.get(site)?.round;
  }
}
