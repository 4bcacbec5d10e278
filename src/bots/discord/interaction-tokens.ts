import { DiscordAPIError } from 'discord.js';

/** An interaction's webhook: it lets the bot answer for 15 minutes. Kept in memory only. */
export interface InteractionWebhook {
  readonly applicationId: string;
  readonly token: string;
  readonly expiresAtMs: number;
}

/** Interaction tokens per job, while they last; a restart forgets them and channel endpoints take over. */
export class InteractionTokens {
  private readonly byJob = new Map<string, InteractionWebhook>();

  /** Margin before expiry after which a token is no longer used. */
  constructor(private readonly marginMs = 60_000) {}

  set(jobId: string, webhook: InteractionWebhook): void {
    this.byJob.set(jobId, webhook);
  }

  /** The job's token when it is still good for a while. */
  get(jobId: string): InteractionWebhook | undefined {
    const webhook = this.byJob.get(jobId);
    if (!webhook) return undefined;
    if (Date.now() > webhook.expiresAtMs - this.marginMs) {
      this.byJob.delete(jobId);
      return undefined;
    }
    return webhook;
  }

  /** Forgets a token Discord refused (expired early, or the interaction is gone). */
  expire(jobId: string): void {
    this.byJob.delete(jobId);
  }
}

/** Discord's codes for a dead interaction token: Unknown Webhook, Invalid Webhook Token, Unknown interaction. */
const DEAD_TOKEN_CODES = new Set([10015, 50027, 10062]);

/** True when Discord says the interaction token can no longer be used. */
export function isDeadToken(error: unknown): boolean {
  return (
    error instanceof DiscordAPIError && (DEAD_TOKEN_CODES.has(Number(error.code)) || error.status === 401)
  );
}
