// Two whole services behind one Telegram webhook URL, sharing Redis. The "load balancer" here is a
// bad one: it hands every call to both instances at once — the worst a retry landing on another
// instance can do. Each update must still be handled once: one status, one job, one video.
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeDashScope, startFakeDashScope } from '../../fakes/dashscope/server.ts';
import { type FakeTelegram, startFakeTelegram } from '../../fakes/telegram/server.ts';
import { makeClip, tempDir } from '../../helpers/media.ts';
import { LOCAL_REDIS_URL, redisReachable } from '../../helpers/redis.ts';
import { freePort } from '../../helpers/service.ts';
import {
  appEnv,
  botMessages,
  type RunningApp,
  runApp,
  sentVideos,
  waitForBotMessage,
} from '../../helpers/telegram-app.ts';

const PREFIX = `rt-webhooks-${process.pid}-${randomUUID().slice(0, 8)}`;
const redisUp = await redisReachable();
if (!redisUp) console.warn(`Redis at ${LOCAL_REDIS_URL} unreachable: skipping the webhook-instances test`);

let telegram: FakeTelegram;
let dashscope: FakeDashScope;
let balancer: Server;
const instances: RunningApp[] = [];
/** How each instance answered the calls the balancer passed on. */
const answers: number[] = [];

/** Forwards every call to every instance at once; answers 200 when any instance took it. */
function startBalancer(ports: () => number[]): Promise<Server> {
  const server = createServer(async (req, res) => {
    let body = '';
    for await (const chunk of req) body += String(chunk);
    const headers = {
      'content-type': 'application/json',
      'x-telegram-bot-api-secret-token': String(req.headers['x-telegram-bot-api-secret-token'] ?? ''),
    };
    const statuses = await Promise.all(
      ports().map(async (port) => {
        const reply = await fetch(`http://127.0.0.1:${port}${req.url}`, { method: 'POST', headers, body });
        await reply.arrayBuffer();
        return reply.status;
      }),
    );
    answers.push(...statuses);
    res.writeHead(statuses.includes(200) ? 200 : (statuses[0] ?? 502)).end();
  });
  server.listen(0, '127.0.0.1');
  return once(server, 'listening').then(() => server);
}

beforeAll(async () => {
  if (!redisUp) return;
  [telegram, dashscope] = await Promise.all([
    startFakeTelegram(),
    startFakeDashScope({ render: false, pendingMs: 100, runningMs: 800 }),
  ]);
  balancer = await startBalancer(() => instances.map((running) => running.app.telegram!.webhookPort!));
  const { port } = balancer.address() as { port: number };
  const ports = await Promise.all([freePort(), freePort()]);
  for (let i = 0; i < 2; i++) {
    const dir = await tempDir(`restyle-tg-instance-${i}-`);
    instances.push(
      await runApp(
        appEnv(telegram, dashscope, dir, {
          TELEGRAM_WEBHOOK_URL: `http://127.0.0.1:${port}/telegram/hook`,
          TELEGRAM_WEBHOOK_HOST: '127.0.0.1',
          TELEGRAM_WEBHOOK_PORT: String(ports[i]),
          REDIS_URL: LOCAL_REDIS_URL,
          REDIS_PREFIX: PREFIX,
        }),
      ),
    );
  }
}, 60_000);

afterAll(async () => {
  await Promise.all(instances.map((running) => running.stop()));
  balancer?.close();
  await Promise.all([telegram?.close(), dashscope?.close()]);
});

describe.skipIf(!redisUp)('Telegram on webhooks, two instances behind one URL', () => {
  it('handles each update once however many instances it reaches', async () => {
    const submits = dashscope.submits().filter((r) => r.status === 200).length;
    const chats = [0, 1, 2].map(() => {
      const user = telegram.user();
      return { user, chat: telegram.privateChat(user) };
    });
    for (const [i, { user, chat }] of chats.entries()) {
      const clip = await makeClip({ container: 'mp4', durationSec: 1 + i / 10 });
      telegram.userSends(chat, user, { video: await telegram.addFile(clip), caption: '3d' });
    }
    for (const { chat } of chats) {
      await waitForBotMessage(telegram, chat, (m) => m.text === '✅ 3D cartoon: done!', 60_000);
    }
    for (const { chat } of chats) {
      expect(sentVideos(telegram, chat)).toHaveLength(1);
      // The status message and the video: no second receipt from the other instance.
      expect(botMessages(telegram, chat)).toHaveLength(2);
    }
    // One task per clip, whichever instance took it.
    expect(dashscope.submits().filter((r) => r.status === 200).length - submits).toBe(3);
    // Every call reached both instances; one of each pair took it, the other said busy or done.
    expect(answers.filter((status) => status === 200).length).toBeGreaterThanOrEqual(3);
    expect(answers.every((status) => status === 200 || status === 503)).toBe(true);
    expect(telegram.webhookInfo().pending_update_count).toBe(0);
  }, 90_000);
});
