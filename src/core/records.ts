import type { z } from 'zod';
import type { RecordStore } from './ports.ts';

/** A stored record that does not match its scope's schema: bad data is a surprise, never coerced. */
export class RecordError extends Error {
  override readonly name = 'RecordError';
  constructor(
    readonly scope: string,
    readonly id: string,
    readonly issues: string,
  ) {
    super(`The stored ${scope} record "${id}" is not valid: ${issues}`);
  }
}

/** One kind of small record: its name (the key prefix), its shape, and how long it lives. */
export interface ScopeDefinition<S extends z.ZodType> {
  /** Key prefix, e.g. `telegram.clip`; keys are `<name>:<id>`. Lower-case letters, digits, `.` and `-`. */
  readonly name: string;
  readonly schema: S;
  /** How long a record lives after its last write; `undefined` keeps it until deleted. */
  readonly ttlMs: number | undefined;
}

/** Typed, validated access to one kind of record in a {@link RecordStore}. */
export interface RecordScope<T> {
  readonly name: string;
  /** The record, or `undefined` when absent or expired; rejects with a RecordError on bad data. */
  get(id: string): Promise<T | undefined>;
  /** Writes the record (validated first); `ttlMs` overrides the scope's time to live. */
  set(id: string, value: T, ttlMs?: number): Promise<void>;
  delete(id: string): Promise<void>;
  /** Every live record of the scope, with its id; records that fail validation are reported, not returned. */
  list(onInvalid?: (error: RecordError) => void): Promise<Array<{ readonly id: string; readonly value: T }>>;
}

const SCOPE_NAME = /^[a-z0-9][a-z0-9.-]*$/;

/** Declares a scope; bind it to a store with {@link openScope}. */
export function defineScope<S extends z.ZodType>(definition: ScopeDefinition<S>): ScopeDefinition<S> {
  if (!SCOPE_NAME.test(definition.name)) throw new Error(`invalid record scope name "${definition.name}"`);
  return definition;
}

/** A scope of `store`: keys are `<scope>:<id>`, values checked against the schema both ways. */
export function openScope<S extends z.ZodType>(
  store: RecordStore,
  definition: ScopeDefinition<S>,
): RecordScope<z.infer<S>> {
  const { name, schema, ttlMs } = definition;
  const keyOf = (id: string) => `${name}:${id}`;
  const parse = (id: string, raw: unknown): z.infer<S> => {
    const result = schema.safeParse(raw);
    if (!result.success) {
      throw new RecordError(
        name,
        id,
        result.error.issues
          .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
          .join('; '),
      );
    }
    return result.data;
  };
  return {
    name,
    async get(id) {
      const raw = await store.getRecord<unknown>(keyOf(id));
      return raw === undefined ? undefined : parse(id, raw);
    },
    async set(id, value, ttlOverrideMs) {
      await store.setRecord(keyOf(id), parse(id, value), ttlOverrideMs ?? ttlMs);
    },
    delete: (id) => store.deleteRecord(keyOf(id)),
    async list(onInvalid) {
      const prefix = `${name}:`;
      const found: Array<{ id: string; value: z.infer<S> }> = [];
      for (const { key, value } of await store.listRecords(prefix)) {
        const id = key.slice(prefix.length);
        try {
          found.push({ id, value: parse(id, value) });
        } catch (error) {
          if (!(error instanceof RecordError)) throw error;
          onInvalid?.(error);
        }
      }
      return found;
    },
  };
}
