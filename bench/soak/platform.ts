// What the soak needs from each chat platform's simulated users, and what it reports per platform.
import type { ClipFactory } from './clips.ts';
import type { Rng } from './service.ts';
import type { DashScopeTrace, Kill } from './trace.ts';

/** Everything analysis may read. */
export interface AnalysisContext {
  readonly clips: ClipFactory;
  readonly dashscope: DashScopeTrace;
  readonly kills: readonly Kill[];
}

/** One acknowledged request that went wrong, for the report. */
export interface Defect {
  readonly id: number;
  readonly kind: string;
  readonly problems: string[];
  /** The status message's last text (first line). */
  readonly lastStatus: string;
  readonly where: string;
  /** Everything seen of the request, with the kills in between. */
  readonly steps: string[];
}

/** The figures of one platform. */
export interface PlatformReport {
  readonly platform: 'telegram' | 'discord';
  /** Clips the simulated users sent (Discord: interactions dispatched, including failed ones). */
  readonly clipsSent: number;
  /** Discord: interactions that could not even reach the bot (no gateway session: the bot was down). */
  readonly notDelivered: number;
  /** Sent to a running bot, or queued by Telegram for it, but never answered at all. */
  readonly neverAnswered: number;
  readonly acknowledged: number;
  readonly delivered: number;
  readonly videos: number;
  readonly endedFailed: number;
  readonly endedCanceled: number;
  readonly endedResend: number;
  readonly endedRefused: number;
  readonly lost: number;
  readonly duplicated: number;
  readonly doubleBilled: number;
  readonly stale: number;
  /** Tasks accepted by DashScope for this platform's requests (traced by the clip's marker). */
  readonly submitsAccepted: number;
  /** Videos posted whose bytes carry no marker of this run. */
  readonly untracedVideos: number;
  readonly defects: Defect[];
  readonly neverAnsweredDetails: string[];
  /** Counts of anything else worth knowing (Discord: why interactions could not be dispatched). */
  readonly notes: Record<string, number>;
  /** Every request in short, for `--json`. */
  readonly requests: RequestLine[];
}

/** One request in short. */
export interface RequestLine {
  readonly id: number;
  readonly kind: string;
  /** 'unanswered' when never acknowledged; else how it ended, or 'LOST'. */
  readonly end: string;
  readonly videos: number;
  readonly tasks: number;
  /** The last text of its status (or of the bot's other answer), first line. */
  readonly last: string;
}

/** One platform's simulated users and the analysis of what they got. */
export interface Platform {
  readonly name: 'telegram' | 'discord';
  /** Simulated users on this platform. */
  readonly users: number;
  /** Sends one clip for user `index` (0-based), in that user's way (caption, picker, group, slash, action). */
  send(index: number, rng: Rng): Promise<void>;
  /** Unfinished requests of a user (no video and no final message yet), younger than `maxAgeMs`. */
  open(index: number, maxAgeMs: number): number;
  /** Drives what users do after sending: tap a style on a picker, pick in a select, retry an action. */
  tick(rng: Rng): void;
  /**
   * The bot is back for good (the drain has begun): a person whose last tap never got an answer,
   * because every try met a bot that was down or died before answering, tries once more.
   */
  draining(): void;
  /** True when every acknowledged request has a video or a final message. */
  allEnded(): boolean;
  analyze(context: AnalysisContext): Promise<PlatformReport>;
}
