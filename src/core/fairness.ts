/** Something queued on behalf of a requester. */
export interface Queued {
  readonly id: string;
  readonly requesterKey: string;
}

/**
 * Waiting items served round-robin across requesters: each turn takes the oldest item of the
 * requester whose turn it is, so one requester's fifth clip waits behind everyone's first.
 * Positions cost O(requesters), enqueue and dequeue O(1) amortised.
 */
export class RoundRobinQueue<T extends Queued> {
  private readonly lanes = new Map<string, T[]>();
  /** Requesters with waiting items, in turn order: the first one is served next. */
  private rotation: string[] = [];
  private readonly where = new Map<string, T>();

  /** Items waiting in total. */
  get size(): number {
    return this.where.size;
  }

  /** Items waiting for one requester. */
  countFor(requesterKey: string): number {
    return this.lanes.get(requesterKey)?.length ?? 0;
  }

  has(id: string): boolean {
    return this.where.has(id);
  }

  get(id: string): T | undefined {
    return this.where.get(id);
  }

  /** Adds an item behind the requester's earlier items; a new requester takes the last turn. */
  push(item: T): void {
    if (this.where.has(item.id)) throw new Error(`item ${item.id} is already queued`);
    let lane = this.lanes.get(item.requesterKey);
    if (!lane) {
      lane = [];
      this.lanes.set(item.requesterKey, lane);
      this.rotation.push(item.requesterKey);
    }
    lane.push(item);
    this.where.set(item.id, item);
  }

  /** The item served next, without removing it. */
  peek(): T | undefined {
    const key = this.rotation[0];
    return key === undefined ? undefined : this.lanes.get(key)?.[0];
  }

  /** Removes and returns the item served next; its requester moves to the back of the turn order. */
  shift(): T | undefined {
    const key = this.rotation.shift();
    if (key === undefined) return undefined;
    const lane = this.lanes.get(key)!;
    const item = lane.shift()!;
    this.where.delete(item.id);
    if (lane.length > 0) this.rotation.push(key);
    else this.lanes.delete(key);
    return item;
  }

  /** Removes an item wherever it is; resolves with it, or `undefined` if absent. */
  remove(id: string): T | undefined {
    const item = this.where.get(id);
    if (!item) return undefined;
    const lane = this.lanes.get(item.requesterKey)!;
    lane.splice(lane.indexOf(item), 1);
    this.where.delete(id);
    if (lane.length === 0) {
      this.lanes.delete(item.requesterKey);
      this.rotation.splice(this.rotation.indexOf(item.requesterKey), 1);
    }
    return item;
  }

  /** 1-based place in the serving order (1 = next), or `undefined` if absent. */
  position(id: string): number | undefined {
    const item = this.where.get(id);
    if (!item) return undefined;
    const round = this.lanes.get(item.requesterKey)!.indexOf(item);
    let ahead = 0;
    let beforeInTurn = true;
    for (const key of this.rotation) {
      if (key === item.requesterKey) {
        beforeInTurn = false;
        ahead += round;
        continue;
      }
      const length = this.lanes.get(key)!.length;
      // Every earlier round serves min(length, round) of theirs; in this round, those whose turn
      // comes first serve one more.
      ahead += Math.min(length, round) + (beforeInTurn && length > round ? 1 : 0);
    }
    return ahead + 1;
  }

  /** Every waiting item in serving order (O(n); for listings, not per event). */
  *inOrder(): Generator<T> {
    const lanes = this.rotation.map((key) => this.lanes.get(key)!);
    for (let round = 0; ; round++) {
      let any = false;
      for (const lane of lanes) {
        const item = lane[round];
        if (item) {
          any = true;
          yield item;
        }
      }
      if (!any) return;
    }
  }
}
