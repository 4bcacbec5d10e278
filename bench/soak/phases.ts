// What the service is doing right now, seen from the fakes: each call it makes marks a phase of
// some request's life. The kill scheduler waits for the phase it aims at, then kills.
import type { FakeDashScope } from '../../test/fakes/dashscope/server.ts';
import type { FakeCallback, FakeDiscord, FakeRestCall } from '../../test/fakes/discord/server.ts';
import type { FakeCall, FakeTelegram } from '../../test/fakes/telegram/server.ts';

/** Phases a kill can aim at. */
export const PHASES = [
  /** While the service starts and resumes stored jobs (before or around its first poll/session). */
  'startup',
  /** Right after the bot acknowledged a clip (📥 receipt or picker sent; Discord interaction answered). */
  'ack',
  /** While the clip downloads from Telegram / the Discord CDN. */
  'download',
  /** Shortly after the download: probing, hashing, queueing. */
  'probe',
  /** Right after a status turned to ⏳ Queued. */
  'queue',
  /** Around a temporary upload or a submit to DashScope. */
  'submit',
  /** While a task is polled. */
  'poll',
  /** While a result downloads from DashScope. */
  'fetch',
  /** While the restyled video is being posted to the chat. */
  'deliver',
  /** Right after the video was posted, before the final ✅ status edit. */
  'final',
  /** At a random moment. */
  'random',
] as const;

export type Phase = (typeof PHASES)[number];

/** A phase seen at the fakes. */
export interface PhaseEvent {
  readonly phase: Exclude<Phase, 'startup' | 'probe' | 'random'>;
  readonly at: number;
  readonly what: string;
}

function tgText(call: FakeCall): string {
  return String(call.args.text ?? '');
}

function hasButtons(call: FakeCall): boolean {
  return (call.args.reply_markup ?? '').includes('callback_data');
}

function restContent(call: FakeRestCall): string {
  const json = call.json as { content?: unknown } | undefined;
  return typeof json?.content === 'string' ? json.content : '';
}

/** Scans the fakes' logs for new phase events; cheap enough to call every few milliseconds. */
export class PhaseWatcher {
  private tgIndex = 0;
  private dcIndex = 0;
  private dcCallbackIndex = 0;
  private cdnIndex = 0;
  private dsIndex = 0;
  private readonly tgPending = new Set<FakeCall>();
  private readonly dcPending = new Set<FakeRestCall>();
  private readonly cbPending = new Set<FakeCallback>();
  private activityCount = 0;

  constructor(
    private readonly fakes: {
      readonly telegram?: FakeTelegram | undefined;
      readonly discord?: FakeDiscord | undefined;
      readonly dashscope: FakeDashScope;
    },
  ) {}

  /** Calls the service made to any fake so far (Telegram long polls excluded). */
  get activity(): number {
    return this.activityCount;
  }

  /** Events since the previous call, oldest first. */
  poll(): PhaseEvent[] {
    const events: PhaseEvent[] = [];
    const push = (phase: PhaseEvent['phase'], at: number, what: string) => events.push({ phase, at, what });
    const { telegram, discord, dashscope } = this.fakes;
    if (telegram) {
      for (; this.tgIndex < telegram.calls.length; this.tgIndex++) {
        const call = telegram.calls[this.tgIndex]!;
        if (call.method === 'getUpdates') continue;
        this.activityCount += 1;
        if (call.method === 'getFile') push('download', call.at, 'telegram getFile');
        if (call.method === 'sendVideo' || call.method === 'sendDocument') {
          push('deliver', call.at, `telegram ${call.method} (uploading)`);
        }
        if (['sendMessage', 'editMessageText', 'sendVideo', 'sendDocument'].includes(call.method)) {
          this.tgPending.add(call);
        }
      }
      for (const call of this.tgPending) {
        if (call.status === 0) continue;
        this.tgPending.delete(call);
        if (!call.ok) continue;
        const text = tgText(call);
        const now = Date.now();
        if (call.method === 'sendVideo' || call.method === 'sendDocument') {
          push('final', now, `telegram ${call.method} accepted`);
        } else if (text.startsWith('📥') || (call.method === 'sendMessage' && hasButtons(call))) {
          push('ack', now, `telegram ${call.method} "${text.slice(0, 24)}"`);
        } else if (text.startsWith('⏳')) {
          push('queue', now, 'telegram status ⏳');
        }
      }
    }
    if (discord) {
      for (; this.dcCallbackIndex < discord.callbacks.length; this.dcCallbackIndex++) {
        this.cbPending.add(discord.callbacks[this.dcCallbackIndex]!);
      }
      for (const callback of this.cbPending) {
        if (callback.status === 0) continue;
        this.cbPending.delete(callback);
        if (callback.status >= 200 && callback.status < 300) {
          push('ack', Date.now(), `discord interaction callback type ${callback.type}`);
        }
      }
      for (; this.cdnIndex < discord.cdnRequests.length; this.cdnIndex++) {
        const request = discord.cdnRequests[this.cdnIndex]!;
        push('download', request.at, 'discord CDN download');
      }
      for (; this.dcIndex < discord.calls.length; this.dcIndex++) {
        const call = discord.calls[this.dcIndex]!;
        this.activityCount += 1;
        if (call.method === 'PATCH' && restContent(call).startsWith('⏳')) {
          push('queue', call.at, 'discord status ⏳');
        }
        if (call.method === 'POST' && call.files.length > 0) {
          push('deliver', call.at, 'discord result post (uploading)');
          this.dcPending.add(call);
        }
      }
      for (const call of this.dcPending) {
        if (call.status === 0) continue;
        this.dcPending.delete(call);
        if (call.status >= 200 && call.status < 300) push('final', Date.now(), 'discord result posted');
      }
    }
    for (; this.dsIndex < dashscope.requests.length; this.dsIndex++) {
      const request = dashscope.requests[this.dsIndex]!;
      this.activityCount += 1;
      const { method, path } = request;
      if (
        (method === 'GET' && path === '/api/v1/uploads') ||
        (method === 'POST' && path.startsWith('/__oss')) ||
        (method === 'POST' && path.endsWith('/video-synthesis'))
      ) {
        push('submit', request.at, `dashscope ${method} ${path.split('/').pop()}`);
      } else if (method === 'GET' && path.startsWith('/api/v1/tasks/')) {
        push('poll', request.at, 'dashscope task status');
      } else if (method === 'GET' && path.startsWith('/__outputs/')) {
        push('fetch', request.at, 'dashscope result download');
      }
    }
    return events;
  }
}
