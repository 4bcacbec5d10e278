// The counting rules of the crash soak, in one place. They read only what a user could see (the
// text of the bot's messages and the videos it posted), so they hold for any implementation of the
// bots' intake; only the wording below ties them to today's message catalogue.

/** What the last text of a message says about its clip. */
export type TextVerdict =
  /** ✅ — the restyled video was (said to be) delivered. */
  | 'done'
  /**
   * ✅ with "Send again": a restart cut the hand-over short where the platform cannot say whether
   * the video arrived; the status says so and offers it again. True with or without the video.
   */
  | 'uncertain'
  /** ❌ — the job failed, with the reason. */
  | 'failed'
  /** 🚫 — the job was canceled. */
  | 'canceled'
  /** The bot asks to send/try the clip again ("could not …, please send it again"). */
  | 'resend'
  /** The clip was refused before queueing: a broken limit, the per-user cap, a full queue, a quota. */
  | 'refused'
  /** ↪️ — the same clip in the same style is already on its way: the first request's status follows it. */
  | 'pointer'
  /** A status view of work still going on: ⏳ queued, 🚀 starting, 🎨 restyling, 📤 sending. */
  | 'in-progress'
  /**
   * Anything else (the 📥 receipt, a style picker, a pointer to the status, help text). A receipt
   * that never became a status stays true: the clip was received, and a status followed elsewhere.
   */
  | 'other';

const IN_PROGRESS = /^(⏳|🚀|🎨|📤)/u;
const RESEND = /\b(again|retry)\b|重新发送|重新使用|再试|重试|再次使用/iu;
const REFUSED =
  /can't restyle this clip|clips waiting|queue is full|used today's|can only download files up to|can take files up to|无法重绘|段视频在排队|队列已满|次重绘已用完|最多只能/iu;

/**
 * Classifies a message text. The first of these that applies wins:
 *  1. starts with ✅ / ❌ / 🚫 → done / failed / canceled (the final status views); a ✅ that
 *     offers to send the video again → uncertain; ↪️ → pointer (to the same clip's first request);
 *  2. asks to send or try again (`again`, `retry`, 重新发送, 再试 …) → resend;
 *  3. names a refusal (a broken limit, "N clips waiting", "queue is full", a quota, a too-big file) → refused;
 *  4. starts with ⏳ 🚀 🎨 📤 → in-progress;
 *  5. anything else → other.
 * On Discord the private answer "✅ Queued — the status is below" is a pointer, not a final
 * status: callers only apply rule 1 to public status messages (see `finalOf`).
 */
export function verdictOf(text: string | undefined): TextVerdict {
  const t = (text ?? '').trim();
  if (t.startsWith('✅')) return RESEND.test(t) ? 'uncertain' : 'done';
  if (t.startsWith('❌')) return 'failed';
  if (t.startsWith('🚫')) return 'canceled';
  if (t.startsWith('↪️')) return 'pointer';
  if (RESEND.test(t)) return 'resend';
  if (REFUSED.test(t)) return 'refused';
  if (IN_PROGRESS.test(t)) return 'in-progress';
  return 'other';
}

/** Verdicts that end a request without a video: the user was told clearly what happened. */
export const FAILURE_FINALS: ReadonlySet<TextVerdict> = new Set(['failed', 'canceled', 'resend', 'refused']);

/** A final verdict of a status message (✅, ❌, 🚫, or an explicit resend/refusal in its place). */
export function isFinalVerdict(verdict: TextVerdict): boolean {
  return (
    verdict === 'done' || verdict === 'uncertain' || verdict === 'pointer' || FAILURE_FINALS.has(verdict)
  );
}

/** What the soak concludes about one acknowledged request. */
export interface Outcome {
  /** Restyled videos traced to the request (by the marker in their bytes, or by their reply link). */
  readonly videos: number;
  /** How the request ended for the user, if it did. */
  readonly end: 'delivered' | 'failed' | 'canceled' | 'resend' | 'refused' | undefined;
  readonly lost: boolean;
  readonly duplicated: boolean;
  readonly stale: string | undefined;
}

/**
 * The verdict on one acknowledged request after the drain.
 *  - `statusTexts`: the last text of each status message of the request (Telegram: the message
 *    that showed a status view, the 📥 receipt or picker it was turned from; Discord: the public status, plus the private
 *    answer when it still shows a status view or is still "thinking");
 *  - `otherTexts`: the last text of every other bot message about the clip (replies to it,
 *    private answers), which may carry an explicit resend/refusal.
 * Rules:
 *  - lost: no video, and no status ends in ❌/🚫, and no message about the clip asks to send it
 *    again or refuses it (a ✅ without a video does not count: the user has nothing);
 *  - duplicated: more than one video;
 *  - stale: a status message whose last text is not final (still ⏳ 🚀 🎨 📤, or "thinking"),
 *    or that contradicts the outcome (a video next to a non-✅ status, a ✅ without a video, a
 *    ❌/🚫 next to a video).
 */
export function judge(input: {
  videos: number;
  statusTexts: readonly (string | undefined)[];
  otherTexts: readonly (string | undefined)[];
  /** A status message still "thinking" (a deferred Discord answer never filled in). */
  loading?: boolean;
}): Outcome {
  const statusVerdicts = input.statusTexts.map(verdictOf);
  const otherVerdicts = input.otherTexts.map(verdictOf);
  const all = [...statusVerdicts, ...otherVerdicts.filter((v) => v !== 'done')];
  let end: Outcome['end'];
  if (input.videos > 0) end = 'delivered';
  else if (all.includes('failed')) end = 'failed';
  else if (all.includes('canceled')) end = 'canceled';
  else if (all.includes('resend') || all.includes('uncertain')) end = 'resend';
  else if (all.includes('refused')) end = 'refused';
  let stale: string | undefined;
  if (input.loading) stale = 'still "thinking…" (deferred, never answered)';
  for (const [i, verdict] of statusVerdicts.entries()) {
    if (stale) break;
    const text = firstLine(input.statusTexts[i]);
    if (!isFinalVerdict(verdict)) stale = `status not final: "${text}"`;
    else if (input.videos > 0 && verdict !== 'done' && verdict !== 'uncertain')
      stale = `video delivered but status says "${text}"`;
    else if (input.videos === 0 && verdict === 'done') stale = `status says done but no video: "${text}"`;
  }
  return { videos: input.videos, end, lost: end === undefined, duplicated: input.videos > 1, stale };
}

/** The first line of a text, shortened, for reports. */
export function firstLine(text: string | undefined, max = 70): string {
  const line = (text ?? '').split('\n')[0] ?? '';
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
