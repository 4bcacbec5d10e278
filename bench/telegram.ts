// The Telegram bot under load, end to end: the whole service (real telegraf, undici, ffmpeg, SQLite)
// against the loopback Telegram fake, with its flood control on, and the DashScope fake.
// Run alone with `npx tsx bench/telegram.ts`; `npm run bench` includes it.
import { pathToFileURL } from 'node:url';
import { startFakeDashScope } from '../test/fakes/dashscope/server.ts';
import { type FakeTelegram, startFakeTelegram } from '../test/fakes/telegram/server.ts';
import type { Chat, Message, User } from '../test/fakes/telegram/types.ts';
import { cleanupMedia, makeClip, tempDir } from '../test/helpers/media.ts';
import { appEnv, runApp, sentVideos } from '../test/helpers/telegram-app.ts';

// As bin/restyle.js does for the service: store reads must not queue behind file work.
process.env.UV_THREADPOOL_SIZE ??= '16';

const PRIVATE_USERS = 12;
const GROUP_USERS = 6;
const TASK_MS = 1_500;

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function until(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Most calls of one kind a chat saw in any sliding 60 s window. */
function maxPerMinute(telegram: FakeTelegram, chatId: number, methods: readonly string[]): number {
  const times = telegram.calls
    .filter((c) => c.chatId === chatId && methods.includes(c.method) && c.ok)
    .map((c) => c.at)
    .sort((a, b) => a - b);
  let best = 0;
  for (let i = 0, j = 0; j < times.length; j++) {
    while (times[j]! - times[i]! >= 60_000) i++;
    best = Math.max(best, j - i + 1);
  }
  return best;
}

/** Sends every clip at once (half through the style picker), then measures the bot's side. */
export async function telegramBenchmark(): Promise<void> {
  const [telegram, dashscope, dir] = await Promise.all([
    startFakeTelegram(),
    startFakeDashScope({ render: false, pendingMs: 100, runningMs: TASK_MS }),
    tempDir('restyle-bench-telegram-'),
  ]);
  const running = await runApp(
    appEnv(telegram, dashscope, dir, {
      LOG_LEVEL: 'warn',
      TELEGRAM_STATUS_INTERVAL_MS: '3000',
      QUEUE_MAX_WAITING_PER_USER: '2',
      DASHSCOPE_SEC_PER_VIDEO_SEC: '0.7',
    }),
  );
  try {
    await telegram.waitForPolling();
    // Distinct clips, so the result cache never answers.
    const clips = await Promise.all(
      Array.from({ length: PRIVATE_USERS + GROUP_USERS }, (_, i) =>
        makeClip({ container: 'mp4', durationSec: 1 + i / 100 }),
      ),
    );
    const group = telegram.supergroup('Bench group');
    const jobs: { user: User; chat: Chat; sent: Message; sentAt: number; picker: boolean }[] = [];
    const startedAt = Date.now();
    for (let i = 0; i < clips.length; i++) {
      const user = telegram.user();
      const inGroup = i >= PRIVATE_USERS;
      const chat = inGroup ? group : telegram.privateChat(user);
      const file = await telegram.addFile(clips[i]!);
      const picker = !inGroup && i % 2 === 0;
      if (inGroup) {
        const posted = telegram.userSends(chat, telegram.user(), { video: file });
        const sent = telegram.userSends(chat, user, {
          text: `/restyle@${telegram.bot.username} ${i % 8}`,
          reply_to_message_id: posted.message_id,
        });
        jobs.push({ user, chat, sent, sentAt: Date.now(), picker });
      } else {
        const sent = telegram.userSends(
          chat,
          user,
          picker ? { video: file } : { video: file, caption: String(i % 8) },
        );
        jobs.push({ user, chat, sent, sentAt: Date.now(), picker });
      }
    }
    // Tap a style as soon as each picker shows up.
    const firstReplyMs: number[] = [];
    for (const job of jobs) {
      await until(
        'a first reply',
        () =>
          telegram
            .messages(job.chat.id)
            .some((m) => m.fromBot && m.reply_to_message_id === job.sent.message_id),
        30_000,
      );
      const reply = telegram
        .messages(job.chat.id)
        .find((m) => m.fromBot && m.reply_to_message_id === job.sent.message_id)!;
      const call = telegram.calls.find(
        (c) =>
          c.method === 'sendMessage' &&
          (c.result as Message | undefined)?.message_id === reply.message_id &&
          c.chatId === job.chat.id,
      );
      firstReplyMs.push((call?.at ?? Date.now()) - job.sentAt);
      if (job.picker)
        telegram.userTaps(
          reply.message,
          job.user,
          reply.reply_markup!.inline_keyboard[0]![1]!.callback_data!,
        );
    }
    await until(
      'every video',
      () =>
        sentVideos(telegram, group).length === GROUP_USERS &&
        jobs.every((j) => j.chat.id === group.id || sentVideos(telegram, j.chat).length === 1),
      10 * 60_000,
    );
    await running.app.telegram?.settled();
    const elapsedMs = Date.now() - startedAt;
    const edits = telegram.calls.filter((c) => c.method === 'editMessageText');
    const statusIds = new Set(edits.filter((c) => c.ok).map((c) => `${c.chatId}:${c.args.message_id}`));
    const perStatus = [...statusIds].map(
      (id) => edits.filter((c) => c.ok && `${c.chatId}:${c.args.message_id}` === id).length,
    );
    const tasks = [...dashscope.tasks.values()];
    const handOver = tasks.map((task) => {
      const video = telegram.calls.find(
        (c) => c.method === 'sendVideo' && c.ok && c.at >= (task.endedAt ?? 0) && c.uploads.length > 0,
      );
      return (video?.at ?? Number.NaN) - (task.endedAt ?? Number.NaN);
    });
    const answers = telegram.callbackAnswers.map((a) => a.afterMs);
    console.log(
      `\nTelegram bot: ${jobs.length} clips (${PRIVATE_USERS} private chats, half through the style picker; ${GROUP_USERS} in one group), ${TASK_MS} ms tasks, Telegram flood control on, status edits ≥ 3 s apart:`,
    );
    console.table([
      {
        what: 'first reply to a clip (picker or status), p50 / p95 ms',
        value: `${percentile(firstReplyMs, 50)} / ${percentile(firstReplyMs, 95)}`,
      },
      {
        what: 'button tap → answerCallbackQuery, p50 / max ms',
        value: `${percentile(answers, 50)} / ${Math.max(...answers)}`,
      },
      {
        what: 'task end at DashScope → sendVideo received, p50 / p95 ms',
        value: `${percentile(handOver, 50)} / ${percentile(handOver, 95)}`,
      },
      {
        what: 'status edits per job, mean / max',
        value: `${(perStatus.reduce((a, b) => a + b, 0) / perStatus.length).toFixed(1)} / ${Math.max(...perStatus)}`,
      },
      {
        what: 'messages + edits in the group, most in any minute (limit 20)',
        value: maxPerMinute(telegram, group.id, ['sendMessage', 'editMessageText', 'sendVideo']),
      },
      {
        what: '429s answered by the fake (flood control)',
        value: telegram.calls.filter((c) => c.status === 429).length,
      },
      {
        what: '"message is not modified" errors',
        value: telegram.calls.filter((c) => c.description?.includes('not modified')).length,
      },
      {
        what: 'videos delivered / duplicates',
        value: `${telegram.calls.filter((c) => c.method === 'sendVideo' && c.ok).length} / ${telegram.calls.filter((c) => c.method === 'sendVideo' && c.ok).length - jobs.length}`,
      },
      { what: 'wall time for all clips, s', value: (elapsedMs / 1000).toFixed(1) },
    ]);
  } finally {
    await running.stop();
    await Promise.all([telegram.close(), dashscope.close()]);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await telegramBenchmark();
  await cleanupMedia();
}
