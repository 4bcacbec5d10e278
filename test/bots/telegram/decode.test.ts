import { describe, expect, it } from 'vitest';
import {
  askFromText,
  clipFromMessage,
  type IncomingMessage,
  parseCommand,
} from '../../../src/bots/telegram/decode.ts';
import { decodeAction, encodeAction, styleKeyboard } from '../../../src/bots/telegram/keyboards.ts';

const chat = { id: 42, type: 'private' } as const;
const from = { id: 42, is_bot: false, first_name: 'Ann', language_code: 'en' };

// Payloads as the Bot API sends them (trimmed to the fields the bot reads).
const videoMessage: IncomingMessage = {
  message_id: 10,
  chat,
  from,
  video: {
    file_id: 'BAACAgIAAxkBAAIBNmZ',
    file_unique_id: 'AgADxxx',
    width: 1280,
    height: 720,
    duration: 12,
    mime_type: 'video/mp4',
    file_size: 4_194_304,
  } as never,
  caption: 'make it 3d please',
  caption_entities: [],
};
const animationMessage: IncomingMessage = {
  message_id: 11,
  chat,
  from,
  animation: {
    file_id: 'CgACAgQ',
    file_unique_id: 'AgADyyy',
    width: 320,
    height: 320,
    duration: 3,
    mime_type: 'video/mp4',
    file_name: 'cat.gif.mp4',
    file_size: 120_000,
  } as never,
  document: {
    file_id: 'CgACAgQ',
    file_unique_id: 'AgADyyy',
    mime_type: 'video/mp4',
    file_name: 'cat.gif.mp4',
    file_size: 120_000,
  } as never,
};
const videoNoteMessage: IncomingMessage = {
  message_id: 12,
  chat,
  from,
  video_note: {
    file_id: 'DQACAgI',
    file_unique_id: 'AgADzzz',
    length: 384,
    duration: 5,
    file_size: 300_000,
  } as never,
};

describe('decoding Telegram messages', () => {
  it('finds the video in videos, animations (before their document twin) and video notes', () => {
    expect(clipFromMessage(videoMessage)).toEqual({
      kind: 'video',
      fileId: 'BAACAgIAAxkBAAIBNmZ',
      fileUniqueId: 'AgADxxx',
      fileSizeBytes: 4_194_304,
      mimeType: 'video/mp4',
    });
    expect(clipFromMessage(animationMessage)?.kind).toBe('animation');
    expect(clipFromMessage(videoNoteMessage)).toMatchObject({ kind: 'video_note', fileSizeBytes: 300_000 });
  });

  it('takes documents with a video (or GIF/WebP) MIME type or file name, and nothing else', () => {
    const doc = (document: Record<string, unknown>): IncomingMessage =>
      ({ message_id: 1, chat, document }) as never;
    expect(
      clipFromMessage(doc({ file_id: 'a', file_unique_id: 'b', mime_type: 'video/quicktime' }))?.kind,
    ).toBe('document');
    expect(
      clipFromMessage(
        doc({
          file_id: 'a',
          file_unique_id: 'b',
          mime_type: 'application/octet-stream',
          file_name: 'CLIP.MKV',
        }),
      )?.kind,
    ).toBe('document');
    expect(
      clipFromMessage(
        doc({ file_id: 'a', file_unique_id: 'b', mime_type: 'application/pdf', file_name: 'menu.pdf' }),
      ),
    ).toBeUndefined();
    // A GIF or WebP sent as a file may be animated: the probe decides after download.
    expect(
      clipFromMessage(
        doc({ file_id: 'a', file_unique_id: 'b', mime_type: 'image/gif', file_name: 'cat.gif' }),
      )?.kind,
    ).toBe('document');
    expect(clipFromMessage(doc({ file_id: 'a', file_unique_id: 'b', file_name: 'dance.WEBP' }))?.kind).toBe(
      'document',
    );
    expect(
      clipFromMessage(doc({ file_id: 'a', file_unique_id: 'b', mime_type: 'image/png', file_name: 'a.png' })),
    ).toBeUndefined();
    expect(clipFromMessage({ message_id: 2, chat, text: 'hello' })).toBeUndefined();
    expect(clipFromMessage(undefined)).toBeUndefined();
  });

  it('reads commands meant for this bot, in text or caption, and ignores those for other bots', () => {
    const text = (t: string, length = t.split(' ')[0]!.length): IncomingMessage => ({
      message_id: 3,
      chat,
      text: t,
      entities: [{ type: 'bot_command', offset: 0, length }],
    });
    expect(parseCommand(text('/restyle ink'), 'RestyleBot')).toEqual({ name: 'restyle', args: 'ink' });
    expect(parseCommand(text('/Restyle@restylebot 3d fit'), 'RestyleBot')).toEqual({
      name: 'restyle',
      args: '3d fit',
    });
    expect(parseCommand(text('/restyle@OtherBot 3d'), 'RestyleBot')).toBeUndefined();
    expect(parseCommand({ message_id: 4, chat, text: 'restyle 3d' }, 'RestyleBot')).toBeUndefined();
    expect(
      parseCommand(
        {
          ...videoMessage,
          caption: '/restyle manga',
          caption_entities: [{ type: 'bot_command', offset: 0, length: 8 }],
        },
        'RestyleBot',
      ),
    ).toEqual({
      name: 'restyle',
      args: 'manga',
    });
    // Captions some clients send without entities.
    expect(
      parseCommand(
        { ...videoMessage, caption: '/restyle paper', caption_entities: undefined as never },
        'RestyleBot',
      )?.args,
    ).toBe('paper');
  });

  it('reads a style and the wish to fit from free text', () => {
    expect(askFromText('3d')).toMatchObject({ style: { id: 3 }, fit: false });
    expect(askFromText('make it 3d please')).toMatchObject({ style: { id: 3 } });
    expect(askFromText('Chinese ink wash')).toMatchObject({ style: { id: 7 } });
    expect(askFromText('/restyle 水墨 自动')).toMatchObject({ style: { id: 7 }, fit: true });
    expect(askFromText('paper art fit')).toMatchObject({ style: { id: 5 }, fit: true });
    expect(askFromText('5')).toMatchObject({ style: { id: 5 } });
    // A number inside a sentence is a count, not a style.
    expect(askFromText('me and 2 friends').style).toBeUndefined();
    expect(askFromText('lol').style).toBeUndefined();
    expect(askFromText(undefined).style).toBeUndefined();
  });
});

describe('inline buttons', () => {
  it('round-trips every action within the 64-byte callback_data limit', () => {
    const jobId = '0f8fad5b-d9cb-469f-a165-70867728950e';
    for (const action of [
      { kind: 'style', clipId: 'AbCdEfGhIjKl', styleId: 7 },
      { kind: 'again', clipId: 'AbCdEfGhIjKl', styleId: 0 },
      { kind: 'fit', clipId: 'AbCdEfGhIjKl', styleId: 3 },
      { kind: 'cancel', jobId },
    ] as const) {
      const data = encodeAction(action);
      expect(Buffer.byteLength(data)).toBeLessThanOrEqual(64);
      expect(decodeAction(data)).toEqual(action);
    }
    expect(decodeAction('st:abc:99')).toBeUndefined();
    expect(decodeAction('something else')).toBeUndefined();
  });

  it('lists the styles two per row in the user language, leaving out the one just used', () => {
    const keyboard = styleKeyboard('clip1', 'again', 'zh', 3);
    expect(keyboard.inline_keyboard.map((row) => row.length)).toEqual([2, 2, 2, 1]);
    const texts = keyboard.inline_keyboard.flat().map((b) => b.text);
    expect(texts).toContain('中国水墨');
    expect(texts).not.toContain('3D卡通');
  });
});
