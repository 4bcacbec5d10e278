// Telegram users of the crash soak: private chats with a style in the caption, private chats
// through the style picker, and `/restyle@bot <style>` replies to a friend's clip in a group.
// Everything here reads the Telegram fake's state (messages, the bot's calls), never the bot's code.
import type { FakeCall, FakeTelegram } from '../../test/fakes/telegram/server.ts';
import type { Chat, Message, User } from '../../test/fakes/telegram/types.ts';
import type { ClipFactory } from './clips.ts';
import type { AnalysisContext, Defect, Platform, PlatformReport, RequestLine } from './platform.ts';
import { firstLine, isFinalVerdict, judge, verdictOf } from './rules.ts';
import type { Rng } from './service.ts';
import { billed, dashscopeSteps, type Step, stepLines, whereItStopped } from './trace.ts';

type Kind = 'caption' | 'picker' | 'group';
const KINDS: readonly Kind[] = ['caption', 'picker', 'group'];
/** Verdicts of texts that only a status message shows. */
const STATUS_VERDICTS = new Set(['in-progress', 'done', 'uncertain', 'failed', 'canceled']);

interface TgRequest {
  readonly id: number;
  readonly kind: Kind;
  readonly userIndex: number;
  readonly user: User;
  readonly chat: Chat;
  readonly fileId: string;
  /** The user's messages the bot answers: the clip (private), or the command and the clip (group). */
  readonly anchors: readonly number[];
  readonly sentAt: number;
  readonly updateIds: readonly number[];
  tapAt?: number;
  tappedAt?: number;
  pickerId?: number;
}

/** The message id a bot call created and the message it replies to. */
function repliedBy(telegram: FakeTelegram, call: FakeCall): { id: number; replyTo: number | undefined } {
  const result = call.result as Message | undefined;
  const id = result?.message_id ?? 0;
  const stored = call.chatId === undefined ? undefined : telegram.message(call.chatId, id);
  return { id, replyTo: stored?.reply_to_message_id ?? result?.reply_to_message?.message_id };
}

export class TelegramUsers implements Platform {
  readonly name = 'telegram' as const;
  private readonly people: { user: User; chat: Chat; kind: Kind }[] = [];
  private readonly friends: User[];
  private readonly group: Chat;
  private readonly requests: TgRequest[] = [];

  constructor(
    private readonly telegram: FakeTelegram,
    private readonly clips: ClipFactory,
    private readonly nextId: () => number,
    readonly users: number,
  ) {
    this.group = telegram.supergroup('Soak group');
    this.friends = [telegram.user({ first_name: 'Poster A' }), telegram.user({ first_name: 'Poster B' })];
    for (let i = 0; i < users; i++) {
      const kind = KINDS[i % KINDS.length]!;
      const user = telegram.user({ first_name: `Soak ${kind} ${i}` });
      this.people.push({ user, kind, chat: kind === 'group' ? this.group : telegram.privateChat(user) });
    }
  }

  async send(index: number, rng: Rng): Promise<void> {
    const { user, chat, kind } = this.people[index]!;
    const id = this.nextId();
    const style = rng.int(0, 7);
    const file = await this.telegram.addFile(await this.clips.clipFor(id), {
      mime_type: 'video/mp4',
      file_name: `soak-${id}.mp4`,
    });
    const before = this.telegram.updates.length;
    let anchors: number[];
    if (kind === 'group') {
      const posted = this.telegram.userSends(chat, rng.pick(this.friends), { video: file });
      const asked = this.telegram.userSends(chat, user, {
        text: `/restyle@${this.telegram.bot.username} ${style}`,
        reply_to_message_id: posted.message_id,
      });
      anchors = [asked.message_id, posted.message_id];
    } else {
      const sent = this.telegram.userSends(
        chat,
        user,
        kind === 'caption' ? { video: file, caption: String(style) } : { video: file },
      );
      anchors = [sent.message_id];
    }
    this.requests.push({
      id,
      kind,
      userIndex: index,
      user,
      chat,
      fileId: file.file_id,
      anchors,
      sentAt: Date.now(),
      updateIds: this.telegram.updates.slice(before).map((u) => u.update_id),
    });
  }

  /** Bot messages in the request's chat that reply to one of its anchors. */
  private replies(request: TgRequest) {
    return this.telegram
      .messages(request.chat.id)
      .filter(
        (m) =>
          m.fromBot && m.reply_to_message_id !== undefined && request.anchors.includes(m.reply_to_message_id),
      );
  }

  /** Quick look: a video or a final message replies to the clip. */
  private ended(request: TgRequest): boolean {
    return this.replies(request).some((m) => {
      if (m.media) return true;
      const verdict = verdictOf(m.text);
      return isFinalVerdict(verdict);
    });
  }

  open(index: number, maxAgeMs: number): number {
    const since = Date.now() - maxAgeMs;
    return this.requests.filter((r) => r.userIndex === index && r.sentAt >= since && !this.ended(r)).length;
  }

  /** Telegram keeps updates sent while the bot is down: no tap is lost, so nobody needs to try again. */
  draining(): void {}

  tick(rng: Rng): void {
    const now = Date.now();
    for (const request of this.requests) {
      if (request.kind !== 'picker' || request.tappedAt !== undefined) continue;
      const picker = this.replies(request).find(
        (m) =>
          verdictOf(m.text) === 'other' &&
          (m.reply_markup?.inline_keyboard.flat().filter((b) => b.callback_data).length ?? 0) > 1,
      );
      if (!picker) continue;
      request.pickerId = picker.message_id;
      // A person needs a moment to read the buttons.
      request.tapAt ??= now + rng.between(300, 1500);
      if (now < request.tapAt) continue;
      const buttons = picker.reply_markup!.inline_keyboard.flat().filter((b) => b.callback_data);
      try {
        this.telegram.userTaps(picker.message, request.user, rng.pick(buttons).callback_data!);
        request.tappedAt = now;
      } catch {
        // The buttons changed meanwhile; look again next tick.
        delete request.tapAt;
      }
    }
  }

  allEnded(): boolean {
    if (this.telegram.pendingUpdates().length > 0) return false;
    return this.requests.every((r) => this.replies(r).length === 0 || this.ended(r));
  }

  async analyze(context: AnalysisContext): Promise<PlatformReport> {
    const { telegram } = this;
    const ok = telegram.calls.filter((c) => c.ok && c.chatId !== undefined);
    // Videos, traced by the marker in the uploaded bytes (else by what they reply to).
    const videosOf = new Map<number, FakeCall[]>();
    const byLink: FakeCall[] = [];
    for (const call of ok) {
      if (call.method !== 'sendVideo' && call.method !== 'sendDocument') continue;
      const part = call.uploads.find((u) => u.field === 'video' || u.field === 'document');
      const id = part ? await this.clips.requestOf(part.path) : undefined;
      if (id === undefined) {
        byLink.push(call);
        continue;
      }
      videosOf.set(id, [...(videosOf.get(id) ?? []), call]);
    }
    // Every text each bot message had, in order.
    const history = new Map<string, { text: string; at: number }[]>();
    const created: { call: FakeCall; id: number; replyTo: number | undefined }[] = [];
    for (const call of ok) {
      if (call.method === 'sendMessage') {
        const { id, replyTo } = repliedBy(telegram, call);
        created.push({ call, id, replyTo });
        history.set(`${call.chatId}:${id}`, [{ text: String(call.args.text ?? ''), at: call.at }]);
      } else if (call.method === 'editMessageText') {
        const key = `${call.chatId}:${call.args.message_id}`;
        history.get(key)?.push({ text: String(call.args.text ?? ''), at: call.at });
      }
    }
    const pending = new Set(telegram.pendingUpdates().map((u) => u.update_id));
    const defects: Defect[] = [];
    const lines: RequestLine[] = [];
    const neverAnsweredDetails: string[] = [];
    let untracedVideos = 0;
    const counts = {
      acknowledged: 0,
      delivered: 0,
      videos: 0,
      failed: 0,
      canceled: 0,
      resend: 0,
      refused: 0,
      lost: 0,
      duplicated: 0,
      doubleBilled: 0,
      stale: 0,
      submits: 0,
      neverAnswered: 0,
    };
    for (const request of this.requests) {
      const inChat = (c: { call: FakeCall }) => c.call.chatId === request.chat.id;
      const replies = created.filter(
        (c) => inChat(c) && c.replyTo !== undefined && request.anchors.includes(c.replyTo),
      );
      const linked = byLink.filter((call) => {
        if (call.chatId !== request.chat.id) return false;
        const replyTo = repliedBy(telegram, call).replyTo;
        return replyTo !== undefined && request.anchors.includes(replyTo);
      });
      untracedVideos += linked.length;
      const videoCalls = [...(videosOf.get(request.id) ?? []), ...linked];
      const tasks = context.dashscope.tasksOf.get(request.id) ?? [];
      counts.submits += tasks.length;
      const steps: Step[] = [{ at: request.sentAt, what: `${request.kind} clip sent` }];
      for (const call of telegram.calls) {
        if (call.method === 'getFile' && call.args.file_id === request.fileId) {
          steps.push({ at: call.at, what: 'clip download (getFile)' });
        }
        if ((call.method === 'sendVideo' || call.method === 'sendDocument') && videoCalls.includes(call)) {
          steps.push({ at: call.at, what: 'video posted' });
        }
      }
      if (request.tappedAt) steps.push({ at: request.tappedAt, what: 'user tapped a style' });
      steps.push(...dashscopeSteps(context.dashscope, request.id));
      const statusTexts: string[] = [];
      const otherTexts: string[] = [];
      for (const reply of replies) {
        const texts = history.get(`${request.chat.id}:${reply.id}`) ?? [];
        for (const entry of texts) steps.push({ at: entry.at, what: `bot: "${firstLine(entry.text, 40)}"` });
        const current = telegram.message(request.chat.id, reply.id)?.text ?? texts[texts.length - 1]?.text;
        const wasStatus = texts.some((t) => STATUS_VERDICTS.has(verdictOf(t.text)));
        (wasStatus ? statusTexts : otherTexts).push(current ?? '');
      }
      const acknowledged = replies.length > 0 || videoCalls.length > 0;
      if (!acknowledged) {
        lines.push({
          id: request.id,
          kind: request.kind,
          end: 'unanswered',
          videos: 0,
          tasks: tasks.length,
          last: '',
        });
        // Telegram keeps an update until the bot confirms it: one confirmed yet never answered was dropped.
        if (!request.updateIds.some((u) => pending.has(u))) {
          counts.neverAnswered += 1;
          neverAnsweredDetails.push(
            `#${request.id} (${request.kind}): ${whereItStopped(steps, context.kills)}`,
          );
        }
        continue;
      }
      counts.acknowledged += 1;
      const outcome = judge({ videos: videoCalls.length, statusTexts, otherTexts });
      lines.push({
        id: request.id,
        kind: request.kind,
        end: outcome.end ?? 'LOST',
        videos: outcome.videos,
        tasks: tasks.length,
        last: firstLine(statusTexts[0] ?? otherTexts[0]),
      });
      counts.videos += videoCalls.length;
      if (outcome.end === 'delivered') counts.delivered += 1;
      if (outcome.end === 'failed') counts.failed += 1;
      if (outcome.end === 'canceled') counts.canceled += 1;
      if (outcome.end === 'resend') counts.resend += 1;
      if (outcome.end === 'refused') counts.refused += 1;
      const doubleBilled = billed(tasks).length > 1;
      const problems: string[] = [];
      if (outcome.lost) {
        counts.lost += 1;
        problems.push(
          statusTexts.length === 0 && request.kind === 'picker'
            ? `lost: the picker never turned into a status${request.tappedAt ? ' (a style was tapped)' : ''}`
            : 'lost: neither a video nor a final message',
        );
      }
      if (outcome.duplicated) {
        counts.duplicated += 1;
        problems.push(`duplicated: ${outcome.videos} videos`);
      }
      if (doubleBilled) {
        counts.doubleBilled += 1;
        problems.push(`double-billed: ${billed(tasks).length} tasks`);
      }
      if (outcome.stale) {
        counts.stale += 1;
        problems.push(`stale: ${outcome.stale}`);
      }
      if (problems.length > 0) {
        defects.push({
          id: request.id,
          kind: request.kind,
          problems,
          lastStatus: firstLine(statusTexts[0] ?? otherTexts[0]),
          // A duplicate comes from a kill soon after the first video.
          where: whereItStopped(
            steps,
            context.kills,
            outcome.duplicated ? Math.min(...videoCalls.map((c) => c.at)) : undefined,
          ),
          steps: stepLines(steps, context.kills),
        });
      }
    }
    return {
      platform: 'telegram',
      clipsSent: this.requests.length,
      notDelivered: 0,
      neverAnswered: counts.neverAnswered,
      acknowledged: counts.acknowledged,
      delivered: counts.delivered,
      videos: counts.videos,
      endedFailed: counts.failed,
      endedCanceled: counts.canceled,
      endedResend: counts.resend,
      endedRefused: counts.refused,
      lost: counts.lost,
      duplicated: counts.duplicated,
      doubleBilled: counts.doubleBilled,
      stale: counts.stale,
      submitsAccepted: counts.submits,
      untracedVideos,
      defects,
      neverAnsweredDetails,
      requests: lines,
      notes: {},
    };
  }
}
