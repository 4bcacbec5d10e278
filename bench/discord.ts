// The Discord bot under load, end to end: the whole service (real discord.js, undici, ffmpeg,
// SQLite) against the loopback Discord fake (REST rate-limit buckets on) and the DashScope fake.
// Run alone with `npx tsx bench/discord.ts`; `npm run bench` includes it.
import { pathToFileURL } from 'node:url';
import { registerDiscordCommands } from '../src/bots/discord/register.ts';
import { startFakeDashScope } from '../test/fakes/dashscope/server.ts';
import { startFakeDiscord } from '../test/fakes/discord/server.ts';
import { discordEnv, resultMessages } from '../test/helpers/discord-app.ts';
import { cleanupMedia, makeClip, tempDir } from '../test/helpers/media.ts';
import { runApp } from '../test/helpers/telegram-app.ts';

const USERS = 12;
const TASK_MS = 1_500;

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

async function until(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Everyone runs /restyle at once in one channel; measures acknowledgement, status edits and delivery. */
export async function discordBenchmark(): Promise<void> {
  const [discord, dashscope, dir] = await Promise.all([
    startFakeDiscord(),
    startFakeDashScope({ render: false, pendingMs: 100, runningMs: TASK_MS }),
    tempDir('restyle-bench-discord-'),
  ]);
  const guild = discord.guild({ name: 'Bench' });
  const channel = discord.textChannel(guild, { name: 'clips' });
  const running = await runApp(
    discordEnv(discord, dashscope, dir, {
      LOG_LEVEL: 'warn',
      DISCORD_STATUS_INTERVAL_MS: '3000',
      DASHSCOPE_SEC_PER_VIDEO_SEC: '0.7',
    }),
  );
  try {
    await discord.waitForSession();
    await registerDiscordCommands({ token: discord.token, apiRoot: discord.apiRoot, guildId: guild.id });
    const clips = await Promise.all(
      Array.from({ length: USERS }, (_, i) => makeClip({ container: 'mp4', durationSec: 1 + i / 100 })),
    );
    const styles = ['japanese-manga', 'american-comic', '3d-cartoon', 'chinese-ink'];
    const startedAt = Date.now();
    const interactions = [];
    for (let i = 0; i < USERS; i++) {
      const user = discord.user();
      discord.member(guild, user);
      const file = await discord.addAttachment(clips[i]!, { content_type: 'video/mp4' });
      interactions.push(
        discord.dispatchSlashCommand({
          name: 'restyle',
          channel,
          user,
          options: { video: file, style: styles[i % 4]! },
        }),
      );
    }
    await until('every result', () => resultMessages(discord, channel.id).length >= USERS, 10 * 60_000);
    await running.app.discord?.settled();
    const elapsedMs = Date.now() - startedAt;
    const acks = interactions.map((i) => i.response?.afterMs ?? Number.NaN);
    const edits = discord.calls.filter(
      (c) => c.method === 'PATCH' && /\/messages\/\d+$/.test(c.path) && c.status === 200,
    );
    const perStatus = new Map<string, number>();
    for (const call of edits) perStatus.set(call.path, (perStatus.get(call.path) ?? 0) + 1);
    const results = resultMessages(discord, channel.id);
    const handOver = [...dashscope.tasks.values()].map((task) => {
      const posted = results.map((m) => m.createdAt).filter((at) => at >= (task.endedAt ?? 0));
      return Math.min(...posted) - (task.endedAt ?? Number.NaN);
    });
    const counts = [...perStatus.values()];
    console.log(
      `\nDiscord bot: ${USERS} people run /restyle at once in one channel, ${TASK_MS} ms tasks, REST rate-limit buckets on, status edits ≥ 3 s apart:`,
    );
    console.table([
      {
        what: 'interaction → first answer (3 s allowed), p50 / max ms',
        value: `${percentile(acks, 50)} / ${Math.max(...acks)}`,
      },
      {
        what: 'task end at DashScope → result posted, p50 / p95 ms',
        value: `${percentile(handOver, 50)} / ${percentile(handOver, 95)}`,
      },
      {
        what: 'status edits per job, mean / max',
        value: `${(counts.reduce((a, b) => a + b, 0) / counts.length).toFixed(1)} / ${Math.max(...counts)}`,
      },
      { what: '429s from the fake', value: discord.calls.filter((c) => c.status === 429).length },
      { what: 'results posted / duplicates', value: `${results.length} / ${results.length - USERS}` },
      { what: 'wall time for all clips, s', value: (elapsedMs / 1000).toFixed(1) },
    ]);
  } finally {
    await running.stop();
    await Promise.all([discord.close(), dashscope.close()]);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await discordBenchmark();
  await cleanupMedia();
}
