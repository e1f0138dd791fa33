/**
 * Results being received now, per site: what a slow round is waiting on. Over a slow hospital
 * link an update took minutes to arrive, and the status said only "waiting for" the site (an
 * outside try): a site sending slowly read like one still training, or hung.
 */
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

export class UploadsInFlight {
  private readonly bySite = new Map<string, UploadInFlight>();

  /** A verified result of `totalBytes` (its signed claim) began to arrive from `site`; the handle counts it and ends it. */
  begin(site: string, round: number, totalBytes: number): UploadHandle {
    const u: UploadInFlight = { round, receivedBytes: 0, totalBytes };
    this.bySite.set(site, u);
    return {
      add: (bytes) => void (u.receivedBytes += bytes),
      // Received whole, refused or cut off; another upload begun since is left standing.
      end: () => void (this.bySite.get(site) === u && this.bySite.delete(site)),
    };
  }

  of(site: string): Readonly<UploadInFlight> | undefined {
    return this.bySite.get(site);
  }
}
