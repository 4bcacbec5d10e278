// Discord users of the crash soak: `/restyle video:<clip> style:<choice>` in a channel, and the
// "Restyle video" message action on a posted clip followed by a pick in the private style select.
// An interaction sent while the bot is down fails at once (nobody receives it), so only
// interactions the bot answered count. Everything here reads the Discord fake's state.
import type {
  FakeChannelMessage,
  FakeDiscord,
  FakeFile,
  FakeInteraction,
} from '../../test/fakes/discord/server.ts';
import type { APIChannel, APIGuild, APIUser } from '../../test/fakes/discord/types.ts';
import type { ClipFactory } from './clips.ts';
import type { AnalysisContext, Defect, Platform, PlatformReport, RequestLine } from './platform.ts';
import { FAILURE_FINALS, firstLine, judge, verdictOf } from './rules.ts';
import type { Rng } from './service.ts';
import { billed, dashscopeSteps, type Step, stepLines, whereItStopped } from './trace.ts';

type Kind = 'slash' | 'action';
const KINDS: readonly Kind[] = ['slash', 'action'];
/**
 * Discord fails an interaction the bot did not answer within 3 s ("This interaction failed"), or
 * at once when the bot is offline; a person then tries again after a moment, a few times.
 */
const ANSWER_WINDOW_MS = 3_500;
const RETRY_AFTER_MS: readonly [number, number] = [1_500, 3_000];
/** A person reads the style picker before picking. */
const REACTION_MS: readonly [number, number] = [300, 1_500];
const MAX_TRIES = 3;
/** A person keeps picking this long while picks fail (the bot is down), then gives up. */
const PICK_FOR_MS = 60_000;

interface DcRequest {
  readonly id: number;
  readonly kind: Kind;
  readonly userIndex: number;
  readonly user: APIUser;
  readonly file: FakeFile;
  readonly style: string;
  readonly sentAt: number;
  /** The message the "Restyle video" action is used on. */
  postedId?: string;
  /** Each try of the slash command or of "Restyle video" that reached the bot. */
  readonly starters: FakeInteraction[];
  /** Each pick in the style select that reached the bot (action only). */
  readonly selects: FakeInteraction[];
  /** Tries (commands and picks) that could not reach the bot (no gateway session). */
  failedDispatches: number;
  starterTries: number;
  pickTries: number;
  pickScheduled?: boolean;
  firstPickAt?: number;
  /** When the user acts next (tries the command again, or picks); undefined once done trying. */
  nextAt?: number;
}

function answered(interaction: FakeInteraction): boolean {
  return interaction.response !== undefined;
}

function isVideo(message: FakeChannelMessage): boolean {
  return message.attachments.some((a) => a.filename.toLowerCase().endsWith('.mp4'));
}

/** The first select menu of a message: its custom id and option values. */
function selectOf(message: FakeChannelMessage): { customId: string; values: string[] } | undefined {
  for (const row of message.components as { components?: Record<string, unknown>[] }[]) {
    for (const component of row.components ?? []) {
      if (component.type === 3 && typeof component.custom_id === 'string') {
        const options = (component.options as { value: string }[] | undefined) ?? [];
        return { customId: component.custom_id, values: options.map((o) => o.value) };
      }
    }
  }
  return undefined;
}

export class DiscordUsers implements Platform {
  readonly name = 'discord' as const;
  private readonly people: { user: APIUser; kind: Kind }[] = [];
  private readonly requests: DcRequest[] = [];
  private readonly failures = new Map<string, number>();
  /** The posted message each "Restyle video" request acts on. */
  private styles: string[] = [];

  constructor(
    private readonly discord: FakeDiscord,
    private readonly guild: APIGuild,
    private readonly channel: APIChannel,
    private readonly clips: ClipFactory,
    private readonly nextId: () => number,
    readonly users: number,
  ) {
    for (let i = 0; i < users; i++) {
      const kind = KINDS[i % KINDS.length]!;
      const user = discord.user({ username: `soak-${kind}-${i}` });
      discord.member(guild, user);
      this.people.push({ user, kind });
    }
  }

  /** The style choices of the registered `/restyle`, as a user's client would offer them. */
  private styleChoices(): string[] {
    if (this.styles.length === 0) {
      const command = this.discord.commandsFor(this.guild).find((c) => c.name === 'restyle');
      const option = command?.options?.find((o) => o.name === 'style') as
        | { choices?: { value: string | number }[] }
        | undefined;
      this.styles = (option?.choices ?? []).map((c) => String(c.value));
    }
    return this.styles;
  }

  async send(index: number, rng: Rng): Promise<void> {
    const { user, kind } = this.people[index]!;
    const id = this.nextId();
    const file = await this.discord.addAttachment(await this.clips.clipFor(id), {
      filename: `soak-${id}.mp4`,
      content_type: 'video/mp4',
    });
    const request: DcRequest = {
      id,
      kind,
      userIndex: index,
      user,
      file,
      style: rng.pick(this.styleChoices()),
      sentAt: Date.now(),
      starters: [],
      selects: [],
      failedDispatches: 0,
      starterTries: 0,
      pickTries: 0,
    };
    this.requests.push(request);
    if (kind === 'action')
      request.postedId = this.discord.userSends(this.channel, user, { attachments: [file] }).id;
    this.tryStart(request, rng);
  }

  /** Runs the slash command, or "Restyle video" on the posted clip. */
  private tryStart(request: DcRequest, rng: Rng): void {
    request.starterTries += 1;
    try {
      request.starters.push(
        request.kind === 'slash'
          ? this.discord.dispatchSlashCommand({
              name: 'restyle',
              channel: this.channel,
              user: request.user,
              options: { video: request.file, style: request.style },
            })
          : this.discord.dispatchMessageCommand({
              name: 'Restyle video',
              message: request.postedId!,
              user: request.user,
            }),
      );
      request.nextAt = Date.now() + ANSWER_WINDOW_MS;
    } catch (error) {
      this.failed(request, error);
      request.nextAt = Date.now() + rng.between(...RETRY_AFTER_MS);
    }
  }

  /** Notes an interaction that could not be dispatched, and why (the fake throws when no session would get it). */
  private failed(request: DcRequest, error: unknown): void {
    request.failedDispatches += 1;
    const reason = (error instanceof Error ? error.message : String(error)).replace(/^fake Discord: /, '');
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
  }

  /** The private style picker an answered "Restyle video" showed. */
  private picker(request: DcRequest): FakeChannelMessage | undefined {
    const action = request.starters.find(answered);
    return action ? this.discord.original(action) : undefined;
  }

  /**
   * What a person does next: a command or action not answered (the bot was down, or died before
   * answering) is tried again, up to MAX_TRIES; once the picker shows, they pick a style after a
   * moment, and pick again (for up to PICK_FOR_MS) while no pick is answered and the picker is there.
   */
  tick(rng: Rng): void {
    const now = Date.now();
    for (const request of this.requests) {
      if (request.kind === 'action' && !request.pickScheduled && request.starters.some(answered)) {
        // The picker is there: the person reads it, then picks.
        request.pickScheduled = true;
        request.nextAt = now + rng.between(...REACTION_MS);
      }
      if (request.nextAt === undefined || now < request.nextAt) continue;
      if (!request.starters.some(answered)) {
        if (request.starterTries >= MAX_TRIES) delete request.nextAt;
        else this.tryStart(request, rng);
        continue;
      }
      const picker = request.kind === 'action' ? this.picker(request) : undefined;
      const select = picker ? selectOf(picker) : undefined;
      request.firstPickAt ??= now;
      if (!picker || !select || request.selects.some(answered) || now - request.firstPickAt > PICK_FOR_MS) {
        delete request.nextAt;
        continue;
      }
      request.pickTries += 1;
      const value = select.values.includes(request.style) ? request.style : rng.pick(select.values);
      try {
        request.selects.push(
          this.discord.dispatchSelect({
            message: picker,
            customId: select.customId,
            values: [value],
            user: request.user,
          }),
        );
        request.nextAt = now + ANSWER_WINDOW_MS;
      } catch (error) {
        this.failed(request, error);
        request.nextAt = now + rng.between(...RETRY_AFTER_MS);
      }
    }
  }

  /** A person whose picker is still there with no pick answered picks once more, now the bot stays up. */
  draining(): void {
    const now = Date.now();
    for (const request of this.requests) {
      if (request.kind !== 'action' || !request.starters.some(answered) || request.selects.some(answered))
        continue;
      request.firstPickAt = now;
      request.nextAt = now;
    }
  }

  /** Interactions that start the job: the slash command, or the answered picks. */
  private jobStarters(request: DcRequest): FakeInteraction[] {
    return request.kind === 'slash' ? request.starters : request.selects;
  }

  private acknowledged(request: DcRequest): boolean {
    return request.starters.some(answered);
  }

  /** The request's public messages: statuses and results (follow-ups, and replies to the statuses). */
  private publicMessages(request: DcRequest): {
    statuses: FakeChannelMessage[];
    linked: FakeChannelMessage[];
  } {
    const followups = this.jobStarters(request).flatMap((i) => this.discord.followups(i));
    const statuses = followups.filter((m) => !m.ephemeral && !isVideo(m));
    const statusIds = new Set(statuses.map((m) => m.id));
    const linked = [
      ...followups.filter((m) => isVideo(m)),
      ...this.discord
        .messages(this.channel)
        .filter((m) => m.fromBot && isVideo(m) && m.replyTo !== undefined && statusIds.has(m.replyTo)),
    ];
    return { statuses, linked: [...new Map(linked.map((m) => [m.id, m])).values()] };
  }

  /** Private answers: the deferred reply of a slash command, or the picker (which a pick updates). */
  private privateAnswers(request: DcRequest): FakeChannelMessage[] {
    const answers = [...request.starters, ...request.selects]
      .filter(answered)
      .map((i) => this.discord.original(i))
      .filter((m): m is FakeChannelMessage => m !== undefined);
    return [...new Map(answers.map((m) => [m.id, m])).values()];
  }

  /**
   * Bot messages in the channel that name the request's file: what the bot says after a restart,
   * when the interaction is gone (e.g. "The bot restarted while fetching `soak-7.mp4`…").
   */
  private namingFile(request: DcRequest): FakeChannelMessage[] {
    return this.discord
      .messages(this.channel)
      .filter((m) => m.fromBot && !m.ephemeral && !isVideo(m) && m.content.includes(request.file.filename));
  }

  private ended(request: DcRequest): boolean {
    const { statuses, linked } = this.publicMessages(request);
    if (linked.length > 0) return true;
    const texts = [
      ...statuses.map((m) => m.content),
      ...this.privateAnswers(request).map((m) => m.content),
      ...this.namingFile(request).map((m) => m.content),
    ];
    return (
      texts.some((t) => FAILURE_FINALS.has(verdictOf(t))) ||
      statuses.some((m) => verdictOf(m.content) === 'done')
    );
  }

  open(index: number, maxAgeMs: number): number {
    const since = Date.now() - maxAgeMs;
    return this.requests.filter(
      (r) =>
        r.userIndex === index &&
        r.sentAt >= since &&
        (r.starters.length > 0 || r.nextAt !== undefined) &&
        !this.ended(r),
    ).length;
  }

  allEnded(): boolean {
    return this.requests.every((r) => (!this.acknowledged(r) && r.nextAt === undefined) || this.ended(r));
  }

  async analyze(context: AnalysisContext): Promise<PlatformReport> {
    const { discord } = this;
    const videosOf = new Map<number, FakeChannelMessage[]>();
    const untraced: FakeChannelMessage[] = [];
    for (const message of discord.messages(this.channel)) {
      if (!message.fromBot || !isVideo(message)) continue;
      const attachment = message.attachments.find((a) => a.filename.toLowerCase().endsWith('.mp4'))!;
      const id = await this.clips.requestOf(attachment.path);
      if (id === undefined) untraced.push(message);
      else videosOf.set(id, [...(videosOf.get(id) ?? []), message]);
    }
    const untracedIds = new Set(untraced.map((m) => m.id));
    const linkedIds = new Set<string>();
    const defects: Defect[] = [];
    const lines: RequestLine[] = [];
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
      notDelivered: 0,
      neverAnswered: 0,
    };
    const neverAnsweredDetails: string[] = [];
    for (const request of this.requests) {
      const tasks = context.dashscope.tasksOf.get(request.id) ?? [];
      counts.submits += tasks.length;
      counts.notDelivered += request.failedDispatches;
      const steps: Step[] = [{ at: request.sentAt, what: `${request.kind} sent` }];
      for (const interaction of [...request.starters, ...request.selects]) {
        steps.push({ at: interaction.createdAt, what: `interaction ${interaction.name} dispatched` });
        if (interaction.response) {
          steps.push({
            at: interaction.response.at,
            what: `answered (callback type ${interaction.response.type})`,
          });
        }
      }
      for (const cdn of discord.cdnRequests) {
        if (cdn.path.includes(`/soak-${request.id}.mp4`))
          steps.push({ at: cdn.at, what: 'clip download (CDN)' });
      }
      steps.push(...dashscopeSteps(context.dashscope, request.id));
      if (!this.acknowledged(request)) {
        lines.push({
          id: request.id,
          kind: request.kind,
          end: 'unanswered',
          videos: 0,
          tasks: tasks.length,
          last: '',
        });
        // Dispatched to a live session, yet never answered: Discord showed "This interaction failed".
        if (request.starters.length > 0) {
          counts.neverAnswered += 1;
          neverAnsweredDetails.push(
            `#${request.id} (${request.kind}): ${whereItStopped(steps, context.kills)}`,
          );
        }
        continue;
      }
      counts.acknowledged += 1;
      const { statuses: followed, linked } = this.publicMessages(request);
      const traced = videosOf.get(request.id) ?? [];
      // A status posted through the channel after a restart is found by the video replying to it.
      const repliedTo = traced
        .map((video) => (video.replyTo ? discord.message(this.channel, video.replyTo) : undefined))
        .filter((m): m is FakeChannelMessage => m?.fromBot === true && !isVideo(m));
      const statuses = [...new Map([...followed, ...repliedTo].map((m) => [m.id, m])).values()];
      const linkedUntraced = linked.filter((m) => untracedIds.has(m.id));
      for (const m of linkedUntraced) linkedIds.add(m.id);
      untracedVideos += linkedUntraced.length;
      const videos = traced.length + linkedUntraced.length;
      const statusIds = new Set(statuses.map((m) => m.id));
      for (const event of discord.messageLog) {
        if (statusIds.has(event.messageId) && event.kind !== 'delete') {
          steps.push({ at: event.at, what: `status: "${firstLine(event.snapshot.content, 40)}"` });
        }
      }
      for (const video of [...traced, ...linkedUntraced])
        steps.push({ at: video.createdAt, what: 'video posted' });
      const statusTexts = statuses.map((m) => m.content);
      const otherTexts: string[] = this.namingFile(request).map((m) => m.content);
      let loading = false;
      for (const answer of this.privateAnswers(request)) {
        if (answer.loading) loading = true;
        else if (verdictOf(answer.content) === 'in-progress') statusTexts.push(answer.content);
        else otherTexts.push(answer.content);
      }
      const outcome = judge({ videos, statusTexts, otherTexts, loading });
      lines.push({
        id: request.id,
        kind: request.kind,
        end: outcome.end ?? 'LOST',
        videos: outcome.videos,
        tasks: tasks.length,
        last: firstLine(statusTexts[0] ?? otherTexts[0] ?? (loading ? '(thinking…)' : '')),
      });
      counts.videos += videos;
      if (outcome.end === 'delivered') counts.delivered += 1;
      if (outcome.end === 'failed') counts.failed += 1;
      if (outcome.end === 'canceled') counts.canceled += 1;
      if (outcome.end === 'resend') counts.resend += 1;
      if (outcome.end === 'refused') counts.refused += 1;
      const problems: string[] = [];
      if (outcome.lost) {
        counts.lost += 1;
        const noPick = request.kind === 'action' && !request.selects.some(answered);
        problems.push(
          noPick
            ? `lost: no pick in the style picker was answered (${request.pickTries} tried, ${request.selects.length} reached the bot)`
            : 'lost: neither a video nor a final message',
        );
      }
      if (outcome.duplicated) {
        counts.duplicated += 1;
        problems.push(`duplicated: ${outcome.videos} videos`);
      }
      if (billed(tasks).length > 1) {
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
          lastStatus: firstLine(statusTexts[0] ?? otherTexts[0] ?? (loading ? '(thinking…)' : '')),
          // A duplicate comes from a kill soon after the first video.
          where: whereItStopped(
            steps,
            context.kills,
            outcome.duplicated
              ? Math.min(...[...traced, ...linkedUntraced].map((m) => m.createdAt))
              : undefined,
          ),
          steps: stepLines(steps, context.kills),
        });
      }
    }
    // Untraced videos no request links to either.
    untracedVideos += untraced.filter((m) => !linkedIds.has(m.id)).length;
    return {
      platform: 'discord',
      clipsSent: this.requests.length,
      notDelivered: counts.notDelivered,
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
      notes: Object.fromEntries(this.failures),
    };
  }
}
