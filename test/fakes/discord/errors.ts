/** The JSON body of an error answer. */
export interface ErrorBody {
  message: string;
  code: number;
  errors?: unknown;
  retry_after?: number;
  global?: boolean;
}

/** A failed REST call: the HTTP status, the JSON Discord answers, and extra headers. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: ErrorBody,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`${status} ${body.message} (${body.code})`);
  }
}

const fail = (status: number, code: number, message: string) => new ApiError(status, { message, code });

export const unauthorized = () => fail(401, 0, '401: Unauthorized');
export const notFound = () => fail(404, 0, '404: Not Found');
export const methodNotAllowed = () => fail(405, 0, '405: Method Not Allowed');
export const invalidApiVersion = () => fail(400, 50041, 'Invalid API version provided');
export const invalidJson = () => fail(400, 50109, 'The request body contains invalid JSON.');
export const unknownApplication = () => fail(404, 10002, 'Unknown Application');
export const unknownChannel = () => fail(404, 10003, 'Unknown Channel');
export const unknownGuild = () => fail(404, 10004, 'Unknown Guild');
export const unknownMember = () => fail(404, 10007, 'Unknown Member');
export const unknownMessage = () => fail(404, 10008, 'Unknown Message');
export const unknownRole = () => fail(404, 10011, 'Unknown Role');
export const unknownEmoji = () => fail(400, 10014, 'Unknown Emoji');
export const unknownUser = () => fail(404, 10013, 'Unknown User');
export const unknownWebhook = () => fail(404, 10015, 'Unknown Webhook');
export const unknownInteraction = () => fail(404, 10062, 'Unknown interaction');
export const unknownCommand = () => fail(404, 10063, 'Unknown application command');
export const tooManyCommands = (max: number) =>
  fail(400, 30032, `Maximum number of application commands reached (${max})`);
export const dailyCommandCreates = () =>
  fail(429, 30034, 'Maximum number of daily application command creates has been reached (200)');
export const tooLarge = () => fail(413, 40005, 'Request entity too large');
export const alreadyAcknowledged = () => fail(400, 40060, 'Interaction has already been acknowledged.');
export const missingAccess = () => fail(403, 50001, 'Missing Access');
export const cannotEditOthers = () => fail(403, 50005, 'Cannot edit a message authored by another user');
export const emptyMessage = () => fail(400, 50006, 'Cannot send an empty message');
export const cannotMessageUser = () => fail(403, 50007, 'Cannot send messages to this user');
export const nonTextChannel = () => fail(400, 50008, 'Cannot send messages in a non-text channel');
export const missingPermissions = () => fail(403, 50013, 'Missing Permissions');
export const systemMessage = () => fail(403, 50021, 'Cannot execute action on a system message');
export const invalidWebhookToken = () => fail(401, 50027, 'Invalid Webhook Token');

/** One entry of an `_errors` list. */
export interface FieldError {
  code: string;
  message: string;
}

/**
 * Collects validation errors into Discord's nested `errors` object (keys are field names and array
 * indexes, leaves are `{ _errors: [...] }`), answered as 400 with code 50035.
 */
export class FormErrors {
  private readonly root: Record<string, unknown> = {};
  private count = 0;

  add(path: readonly (string | number)[], code: string, message: string): void {
    let node = this.root;
    for (const key of path) {
      const k = String(key);
      node[k] ??= {};
      node = node[k] as Record<string, unknown>;
    }
    node._errors ??= [];
    const list = node._errors as FieldError[];
    list.push({ code, message });
    this.count += 1;
  }

  get empty(): boolean {
    return this.count === 0;
  }

  /** Throws the 50035 answer when any error was added. */
  throwIfAny(): void {
    if (!this.empty)
      throw new ApiError(400, { message: 'Invalid Form Body', code: 50035, errors: this.root });
  }
}

/** Throws a 50035 answer with a single error at `path`. */
export function formError(path: readonly (string | number)[], code: string, message: string): never {
  const errors = new FormErrors();
  errors.add(path, code, message);
  errors.throwIfAny();
  throw new Error('unreachable');
}
