import { afterAll } from 'vitest';
import { cleanupMedia } from './helpers/media.ts';

// Workers end without an 'exit' event: remove each file's generated media when it finishes.
afterAll(cleanupMedia);
