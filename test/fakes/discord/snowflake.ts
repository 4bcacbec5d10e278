/** Milliseconds since the Unix epoch of the first second of 2015, where Discord snowflakes start. */
export const DISCORD_EPOCH = 1_420_070_400_000;

// Clamping keeps ids at 18+ digits even for a manual clock set near 1970: @discordjs/rest only
// recognises 17–19 digit ids as major parameters of a rate-limit bucket.
const MIN_OFFSET_MS = 365 * 24 * 3600 * 1000;

/** Makes snowflakes from a clock: timestamp, worker 1, process 0, increment; strictly increasing. */
export class Snowflakes {
  private last = 0n;
  private increment = 0n;

  constructor(private readonly now: () => number) {}

  next(): string {
    const ms = Math.max(Math.floor(this.now()) - DISCORD_EPOCH, MIN_OFFSET_MS);
    let id = (BigInt(ms) << 22n) | (1n << 17n) | (this.increment & 0xfffn);
    this.increment += 1n;
    if (id <= this.last) id = this.last + 1n;
    this.last = id;
    return id.toString();
  }
}

/** Epoch milliseconds a snowflake was made at. */
export function snowflakeTime(id: string): number {
  return Number(BigInt(id) >> 22n) + DISCORD_EPOCH;
}

/** An ISO 8601 timestamp the way Discord writes them: `2017-07-11T17:27:07.299000+00:00`. */
export function isoTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}
