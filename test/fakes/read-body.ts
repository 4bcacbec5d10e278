import type { IncomingMessage } from 'node:http';

/** Reads a whole request body; `undefined` when it is larger than `limitBytes` (the rest is drained). */
export async function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let total = 0;
  let tooLarge = false;
  for await (const chunk of req.iterator({ destroyOnReturn: false })) {
    total += (chunk as Buffer).length;
    if (total > limitBytes) tooLarge = true;
    else chunks.push(chunk as Buffer);
  }
  return tooLarge ? undefined : Buffer.concat(chunks);
}
