/** Telegram lets a bot send about 20 messages a minute to a group. */
const GROUP_MESSAGES_PER_MIN = 20;
/** Of those, status edits leave this many for replies and results. */
const GROUP_RESERVED_PER_MIN = 7;
/** A group's status edits together stay near 15 a minute, under its limit of about 20 messages. */
export const GROUP_EDIT_SHARE_MS = 4_000;

/**
 * What the bot sent to each group in the last minute, so status edits (which can wait) leave room
 * for replies and results (which should not). Private chats (positive ids) are not counted.
 */
export class GroupBudget {
  private readonly sent = new Map<number, number[]>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Records a message or edit in a chat. */
  note(chatId: number): void {
    if (chatId > 0) return;
    const now = this.now();
    const times = (this.sent.get(chatId) ?? []).filter((t) => now - t < 60_000);
    times.push(now);
    this.sent.set(chatId, times);
  }

  /** How long a status edit in this chat should wait; 0 for private chats and groups with room. */
  holdMs(chatId: number): number {
    if (chatId > 0) return 0;
    const now = this.now();
    const times = (this.sent.get(chatId) ?? []).filter((t) => now - t < 60_000);
    this.sent.set(chatId, times);
    const allowed = GROUP_MESSAGES_PER_MIN - GROUP_RESERVED_PER_MIN;
    if (times.length < allowed) return 0;
    return times[times.length - allowed]! + 60_000 - now;
  }
}
