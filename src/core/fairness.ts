/** Something queued on behalf of a requester. */
export interface Queued {
  readonly id: string;
  readonly requesterKey: string;
}

interface Tagged<T> {
  readonly item: T;
  /** Virtual start time: the requester's round this item belongs to. */
  readonly round: number;
  /** Arrival order, the tie-break within a round. */
  readonly seq: number;
}

/**
 * Waiting items in fair order (start-time fair queuing with unit cost): a requester's n-th waiting
 * item belongs to round n after the rounds they were already served, and rounds are served in
 * order, arrival breaking ties. So one requester's fifth clip waits behind everyone's first, and
 * someone who was just served waits behind someone who was not.
 * Push and shift cost O(1) amortised; a position costs O(rounds in use), bounded by the per-user cap.
 */
export class FairQueue<T extends Queued> {
  /** Items by round, each in arrival order. */
  private readonly rounds = new Map<number, Tagged<T>[]>();
  private readonly byId = new Map<string, Tagged<T>>();
  private readonly perRequester = new Map<string, number>();
  /** The next round of each requester that has been active recently. */
  private readonly nextRound = new Map<string, number>();
  /** The round being served (virtual time). */
  private current = 0;
  private seq = 0;

  /** Items waiting in total. */
  get size(): number {
    return this.byId.size;
  }

  /** Items waiting for one requester. */
  countFor(requesterKey: string): number {
    return this.perRequester.get(requesterKey) ?? 0;
  }

  has(id: string): boolean {
    return this.byId.has(id);
  }

  get(id: string): T | undefined {
    return this.byId.get(id)?.item;
  }

  /** Adds an item in its requester's next round. */
  push(item: T): void {
    if (this.byId.has(item.id)) throw new Error(`item ${item.id} is already queued`);
    const round = Math.max(this.current, this.nextRound.get(item.requesterKey) ?? 0);
    this.nextRound.set(item.requesterKey, round + 1);
    const tagged = { item, round, seq: this.seq++ };
    let bucket = this.rounds.get(round);
    if (!bucket) {
      bucket = [];
      this.rounds.set(round, bucket);
    }
    bucket.push(tagged);
    this.byId.set(item.id, tagged);
    this.perRequester.set(item.requesterKey, this.countFor(item.requesterKey) + 1);
  }

  /** The item served next, without removing it. */
  peek(): T | undefined {
    return this.firstBucket()?.[0]?.item;
  }

  /** Removes and returns the item served next. */
  shift(): T | undefined {
    const head = this.firstBucket()?.[0];
    if (!head) return undefined;
    this.current = head.round;
    this.forget(head);
    this.prune();
    return head.item;
  }

  /** Removes an item wherever it is; returns it, or `undefined` if absent. */
  remove(id: string): T | undefined {
    const tagged = this.byId.get(id);
    if (!tagged) return undefined;
    this.forget(tagged);
    return tagged.item;
  }

  /** 1-based place in the serving order (1 = next), or `undefined` if absent. */
  position(id: string): number | undefined {
    const tagged = this.byId.get(id);
    if (!tagged) return undefined;
    let ahead = 0;
    for (const [round, bucket] of this.rounds) {
      if (round < tagged.round) ahead += bucket.length;
    }
    return ahead + this.rounds.get(tagged.round)!.indexOf(tagged) + 1;
  }

  /** Every waiting item in serving order (O(n log rounds); for listings, not per event). */
  *inOrder(): Generator<T> {
    const rounds = [...this.rounds.keys()].sort((a, b) => a - b);
    for (const round of rounds) for (const tagged of this.rounds.get(round)!) yield tagged.item;
  }

  private firstBucket(): Tagged<T>[] | undefined {
    let best: number | undefined;
    for (const round of this.rounds.keys()) if (best === undefined || round < best) best = round;
    return best === undefined ? undefined : this.rounds.get(best);
  }

  private forget(tagged: Tagged<T>): void {
    const bucket = this.rounds.get(tagged.round)!;
    // Arrival order within a bucket: the head is the common case.
    bucket.splice(bucket[0] === tagged ? 0 : bucket.indexOf(tagged), 1);
    if (bucket.length === 0) this.rounds.delete(tagged.round);
    this.byId.delete(tagged.item.id);
    const left = this.countFor(tagged.item.requesterKey) - 1;
    if (left > 0) this.perRequester.set(tagged.item.requesterKey, left);
    else this.perRequester.delete(tagged.item.requesterKey);
  }

  /** Drops round counters that no longer matter (at or behind virtual time, nothing waiting). */
  private prune(): void {
    if (this.nextRound.size < 1_024) return;
    for (const [key, round] of this.nextRound) {
      if (round <= this.current && !this.perRequester.has(key)) this.nextRound.delete(key);
    }
  }
}
