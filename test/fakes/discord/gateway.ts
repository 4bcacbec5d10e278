import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { createDeflate, type Deflate, deflateSync, constants as zlibConstants } from 'node:zlib';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import {
  ALL_INTENTS,
  GatewayCloseCode,
  GatewayOpcode,
  type GatewayPayload,
  Intent,
  type Json,
  PRIVILEGED_INTENTS,
} from './types.ts';

/** What the gateway needs from the rest of the fake; read on every use, so option changes apply. */
export interface GatewayHost {
  readonly token: () => string;
  readonly heartbeatIntervalMs: () => number;
  /** Identifies per bucket within this window get INVALID_SESSION (max_concurrency is 1). */
  readonly identifyWindowMs: () => number;
  /** How long a disconnected session may still be resumed. */
  readonly resumeWindowMs: () => number;
  /** Privileged intents enabled for the app in the Developer Portal. */
  readonly enabledPrivilegedIntents: () => number;
  /** Counts down `session_start_limit.remaining`; false once none is left. */
  readonly startSession: () => boolean;
  /** The READY payload for a new session. */
  readonly ready: (session: FakeGatewaySession) => Json;
  /** GUILD_CREATE payloads for the guilds of a shard, in order. */
  readonly guildCreates: (session: FakeGatewaySession) => Json[];
  /** GUILD_MEMBERS_CHUNK payloads answering a Request Guild Members. */
  readonly memberChunks: (session: FakeGatewaySession, request: Json) => Json[];
  /** The shard a guild's events go to. */
  readonly shardOf: (guildId: string, shardCount: number) => number;
  readonly notify: () => void;
}

/** A gateway session (survives reconnects while resumable). */
export interface FakeGatewaySession {
  readonly sessionId: string;
  /** The IDENTIFY `d` as received. */
  readonly identify: Json;
  readonly intents: number;
  readonly shard: readonly [number, number];
  /** The last sequence number sent. */
  seq: number;
  connected: boolean;
  /** No longer resumable (closed with 1000/1001, invalidated, or expired). */
  invalidated: boolean;
  heartbeats: number;
  heartbeatAcks: number;
  resumes: number;
  /** The last Presence Update `d`. */
  presence?: Json;
  /** Dispatches sent in this session, in order (replayed on RESUME). */
  readonly dispatched: GatewayPayload[];
  disconnectedAt?: number;
}

/** One WebSocket connection as the gateway saw it. */
export interface FakeGatewayConnection {
  readonly id: number;
  /** The query string of the upgrade request, e.g. `{ v: '10', encoding: 'json' }`. */
  readonly query: Readonly<Record<string, string>>;
  readonly openedAt: number;
  sessionId?: string;
  /** Close code and who closed: set once closed. */
  closed?: { code: number; reason: string; by: 'client' | 'server' };
  /** Payloads received from the client, in order. */
  readonly received: { op: number; d: unknown; at: number }[];
  /** Payloads sent to the client, in order. */
  readonly sent: GatewayPayload[];
}

interface Connection {
  readonly record: FakeGatewayConnection;
  readonly ws: WebSocket;
  readonly compress: 'zlib-stream' | undefined;
  deflate?: Deflate;
  payloadCompression: boolean;
  session?: FakeGatewaySession;
  identified: boolean;
  lastHeartbeatAt: number;
  monitor?: NodeJS.Timeout;
  sending: Promise<void>;
  sentInWindow: { count: number; resetAt: number };
}

const MAX_PAYLOAD_BYTES = 4096;
const SEND_LIMIT = { count: 120, windowMs: 60_000 };
const RESUMABLE_CLOSE = (code: number) => code !== 1000 && code !== 1001;
const REPLAY_BUFFER = 2000;
const trace = () => [`["gateway-prd-fake-${randomBytes(2).toString('hex')}",{"micros":0}]`];

/** Discord's Gateway v10 over WebSocket: HELLO, IDENTIFY/READY, heartbeats, RESUME, dispatches. */
export class FakeGateway {
  readonly sessions: FakeGatewaySession[] = [];
  readonly connections: FakeGatewayConnection[] = [];
  private readonly live = new Set<Connection>();
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 1 << 20,
  });
  private nextConnectionId = 1;
  private readonly lastIdentify = new Map<number, number>();

  constructor(private readonly host: GatewayHost) {}

  /** Takes over an HTTP upgrade request for the gateway. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req));
  }

  private accept(ws: WebSocket, req: IncomingMessage): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query = Object.fromEntries(url.searchParams);
    const record: FakeGatewayConnection = {
      id: this.nextConnectionId++,
      query,
      openedAt: Date.now(),
      received: [],
      sent: [],
    };
    this.connections.push(record);
    const compress = query.compress === 'zlib-stream' ? 'zlib-stream' : undefined;
    const conn: Connection = {
      record,
      ws,
      compress,
      payloadCompression: false,
      identified: false,
      lastHeartbeatAt: Date.now(),
      sending: Promise.resolve(),
      sentInWindow: { count: 0, resetAt: Date.now() + SEND_LIMIT.windowMs },
    };
    if (compress) conn.deflate = createDeflate({ flush: zlibConstants.Z_NO_FLUSH });
    this.live.add(conn);
    ws.on('message', (data, isBinary) => this.onMessage(conn, data, isBinary));
    ws.on('close', (code, reason) => this.onClose(conn, code, reason.toString()));
    ws.on('error', () => undefined);

    const version = query.v;
    if (version !== '9' && version !== '10') {
      this.closeConnection(conn, GatewayCloseCode.InvalidAPIVersion, 'Invalid API version.');
      return;
    }
    if (query.encoding !== undefined && query.encoding !== 'json') {
      this.closeConnection(conn, GatewayCloseCode.DecodeError, 'The fake gateway only speaks JSON.');
      return;
    }
    if (query.compress !== undefined && !compress) {
      this.closeConnection(conn, GatewayCloseCode.DecodeError, `Unsupported compression: ${query.compress}`);
      return;
    }
    this.send(conn, {
      op: GatewayOpcode.Hello,
      d: { heartbeat_interval: this.host.heartbeatIntervalMs(), _trace: trace() },
      s: null,
      t: null,
    });
    this.startMonitor(conn);
    this.host.notify();
  }

  private startMonitor(conn: Connection): void {
    const tick = Math.max(50, Math.floor(this.host.heartbeatIntervalMs() / 4));
    conn.monitor = setInterval(() => {
      const interval = this.host.heartbeatIntervalMs();
      // Discord allows some slack on top of the interval before it drops a silent connection.
      if (Date.now() - conn.lastHeartbeatAt > interval * 1.5 + 1000) {
        this.closeConnection(conn, GatewayCloseCode.SessionTimedOut, 'Session timed out.');
      }
    }, tick);
    conn.monitor.unref();
  }

  private onClose(conn: Connection, code: number, reason: string): void {
    if (conn.monitor) clearInterval(conn.monitor);
    conn.deflate?.close();
    this.live.delete(conn);
    conn.record.closed ??= { code, reason, by: 'client' };
    const session = conn.session;
    if (session) {
      session.connected = false;
      session.disconnectedAt = Date.now();
      if (conn.record.closed.by === 'client' && !RESUMABLE_CLOSE(code)) session.invalidated = true;
    }
    this.host.notify();
  }

  /** Closes a connection from the server side with a close code. */
  private closeConnection(conn: Connection, code: number, reason: string): void {
    if (conn.record.closed) return;
    conn.record.closed = { code, reason, by: 'server' };
    if (conn.monitor) clearInterval(conn.monitor);
    // Let queued frames go out first.
    void conn.sending.then(() => conn.ws.close(code, reason));
  }

  private send(conn: Connection, payload: GatewayPayload): void {
    if (conn.ws.readyState !== conn.ws.OPEN || conn.record.closed) return;
    conn.record.sent.push(payload);
    const text = JSON.stringify(payload);
    if (conn.deflate) {
      const deflate = conn.deflate;
      conn.sending = conn.sending.then(
        () =>
          new Promise<void>((resolve) => {
            const chunks: Buffer[] = [];
            const onData = (chunk: Buffer) => chunks.push(chunk);
            deflate.on('data', onData);
            deflate.write(text);
            deflate.flush(zlibConstants.Z_SYNC_FLUSH, () => {
              deflate.off('data', onData);
              conn.ws.send(Buffer.concat(chunks), { binary: true }, () => resolve());
            });
          }),
      );
    } else if (conn.payloadCompression && payload.op === GatewayOpcode.Dispatch) {
      const packed = deflateSync(text);
      conn.sending = conn.sending.then(
        () => new Promise<void>((resolve) => conn.ws.send(packed, { binary: true }, () => resolve())),
      );
    } else {
      conn.sending = conn.sending.then(
        () => new Promise<void>((resolve) => conn.ws.send(text, () => resolve())),
      );
    }
  }

  private onMessage(conn: Connection, data: RawData, isBinary: boolean): void {
    if (conn.record.closed) return;
    const now = Date.now();
    const raw = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (raw.length > MAX_PAYLOAD_BYTES) {
      this.closeConnection(conn, GatewayCloseCode.DecodeError, 'Payload too large.');
      return;
    }
    let payload: { op?: unknown; d?: unknown };
    try {
      if (isBinary) throw new Error('binary frames are not JSON');
      payload = JSON.parse(raw.toString('utf8')) as { op?: unknown; d?: unknown };
      if (typeof payload !== 'object' || payload === null) throw new Error('not an object');
    } catch {
      this.closeConnection(conn, GatewayCloseCode.DecodeError, 'Error while decoding payload.');
      return;
    }
    // 120 events a minute per connection; heartbeats have their own allowance (clients never queue them).
    if (payload.op !== GatewayOpcode.Heartbeat) {
      if (now >= conn.sentInWindow.resetAt)
        conn.sentInWindow = { count: 0, resetAt: now + SEND_LIMIT.windowMs };
      conn.sentInWindow.count += 1;
      if (conn.sentInWindow.count > SEND_LIMIT.count) {
        this.closeConnection(conn, GatewayCloseCode.RateLimited, 'You are being rate limited.');
        return;
      }
    }
    const op = payload.op;
    conn.record.received.push({ op: typeof op === 'number' ? op : -1, d: payload.d, at: now });
    this.host.notify();
    switch (op) {
      case GatewayOpcode.Heartbeat:
        conn.lastHeartbeatAt = now;
        if (conn.session) conn.session.heartbeats += 1;
        this.send(conn, { op: GatewayOpcode.HeartbeatAck, d: null, s: null, t: null });
        if (conn.session) conn.session.heartbeatAcks += 1;
        return;
      case GatewayOpcode.Identify:
        this.identify(conn, payload.d);
        return;
      case GatewayOpcode.Resume:
        this.resume(conn, payload.d);
        return;
      case GatewayOpcode.PresenceUpdate:
      case GatewayOpcode.VoiceStateUpdate:
      case GatewayOpcode.RequestGuildMembers:
      case GatewayOpcode.RequestSoundboardSounds:
      case GatewayOpcode.RequestChannelInfo:
        if (!conn.identified || !conn.session) {
          this.closeConnection(conn, GatewayCloseCode.NotAuthenticated, 'Not authenticated.');
          return;
        }
        if (op === GatewayOpcode.PresenceUpdate && typeof payload.d === 'object' && payload.d !== null) {
          conn.session.presence = payload.d as Json;
        }
        if (op === GatewayOpcode.RequestGuildMembers && typeof payload.d === 'object' && payload.d !== null) {
          for (const chunk of this.host.memberChunks(conn.session, payload.d as Json)) {
            this.dispatchTo(conn.session, 'GUILD_MEMBERS_CHUNK', chunk);
          }
        }
        return;
      default:
        this.closeConnection(conn, GatewayCloseCode.UnknownOpcode, 'Unknown opcode.');
    }
  }

  private identify(conn: Connection, d: unknown): void {
    if (conn.identified) {
      this.closeConnection(conn, GatewayCloseCode.AlreadyAuthenticated, 'Already authenticated.');
      return;
    }
    if (typeof d !== 'object' || d === null) {
      this.closeConnection(conn, GatewayCloseCode.DecodeError, 'Error while decoding payload.');
      return;
    }
    const identify = d as Json;
    const token = typeof identify.token === 'string' ? identify.token.replace(/^Bot\s+/i, '') : undefined;
    if (token !== this.host.token()) {
      this.closeConnection(conn, GatewayCloseCode.AuthenticationFailed, 'Authentication failed.');
      return;
    }
    const intents = identify.intents;
    if (
      typeof intents !== 'number' ||
      !Number.isInteger(intents) ||
      intents < 0 ||
      (intents & ~ALL_INTENTS) !== 0
    ) {
      this.closeConnection(conn, GatewayCloseCode.InvalidIntents, 'Invalid intent(s).');
      return;
    }
    if (intents & PRIVILEGED_INTENTS & ~this.host.enabledPrivilegedIntents()) {
      this.closeConnection(conn, GatewayCloseCode.DisallowedIntents, 'Disallowed intent(s).');
      return;
    }
    let shard: [number, number] = [0, 1];
    if (identify.shard !== undefined) {
      const s = identify.shard;
      if (
        !Array.isArray(s) ||
        s.length !== 2 ||
        !Number.isInteger(s[0]) ||
        !Number.isInteger(s[1]) ||
        s[1] < 1 ||
        s[0] < 0 ||
        s[0] >= s[1]
      ) {
        this.closeConnection(conn, GatewayCloseCode.InvalidShard, 'Invalid shard.');
        return;
      }
      shard = [s[0], s[1]];
    }
    const bucket = 0; // max_concurrency 1: every shard shares one identify bucket
    const now = Date.now();
    const last = this.lastIdentify.get(bucket);
    if (last !== undefined && now - last < this.host.identifyWindowMs()) {
      this.send(conn, { op: GatewayOpcode.InvalidSession, d: false, s: null, t: null });
      return;
    }
    if (!this.host.startSession()) {
      this.send(conn, { op: GatewayOpcode.InvalidSession, d: false, s: null, t: null });
      return;
    }
    this.lastIdentify.set(bucket, now);
    conn.identified = true;
    conn.payloadCompression = identify.compress === true && !conn.compress;
    const session: FakeGatewaySession = {
      sessionId: randomBytes(16).toString('hex'),
      identify: structuredClone(identify),
      intents,
      shard,
      seq: 0,
      connected: true,
      invalidated: false,
      heartbeats: 0,
      heartbeatAcks: 0,
      resumes: 0,
      ...(typeof identify.presence === 'object' && identify.presence !== null
        ? { presence: identify.presence as Json }
        : {}),
      dispatched: [],
    };
    conn.session = session;
    conn.record.sessionId = session.sessionId;
    this.sessions.push(session);
    this.dispatchTo(session, 'READY', this.host.ready(session));
    if (intents & Intent.Guilds) {
      for (const guild of this.host.guildCreates(session)) this.dispatchTo(session, 'GUILD_CREATE', guild);
    }
    this.host.notify();
  }

  private resume(conn: Connection, d: unknown): void {
    if (conn.identified) {
      this.closeConnection(conn, GatewayCloseCode.AlreadyAuthenticated, 'Already authenticated.');
      return;
    }
    const resume = typeof d === 'object' && d !== null ? (d as Json) : {};
    const token = typeof resume.token === 'string' ? resume.token.replace(/^Bot\s+/i, '') : undefined;
    if (token !== this.host.token()) {
      this.closeConnection(conn, GatewayCloseCode.AuthenticationFailed, 'Authentication failed.');
      return;
    }
    const session = this.sessions.find((s) => s.sessionId === resume.session_id);
    this.expire();
    if (!session || session.invalidated || session.connected) {
      this.send(conn, { op: GatewayOpcode.InvalidSession, d: false, s: null, t: null });
      return;
    }
    const seq = typeof resume.seq === 'number' ? resume.seq : -1;
    if (seq < 0 || seq > session.seq) {
      this.closeConnection(conn, GatewayCloseCode.InvalidSeq, 'Invalid seq.');
      return;
    }
    const oldest = session.dispatched[0]?.s ?? session.seq + 1;
    if (seq + 1 < oldest) {
      this.send(conn, { op: GatewayOpcode.InvalidSession, d: false, s: null, t: null });
      return;
    }
    conn.identified = true;
    conn.session = session;
    conn.record.sessionId = session.sessionId;
    session.connected = true;
    session.resumes += 1;
    delete session.disconnectedAt;
    for (const payload of session.dispatched) if ((payload.s ?? 0) > seq) this.send(conn, payload);
    this.dispatchTo(session, 'RESUMED', { _trace: trace() });
    this.host.notify();
  }

  /** Marks sessions past their resume window as invalid. */
  private expire(): void {
    const window = this.host.resumeWindowMs();
    const now = Date.now();
    for (const s of this.sessions) {
      if (!s.connected && s.disconnectedAt !== undefined && now - s.disconnectedAt > window)
        s.invalidated = true;
    }
  }

  private connectionOf(session: FakeGatewaySession): Connection | undefined {
    for (const conn of this.live) if (conn.session === session && !conn.record.closed) return conn;
    return undefined;
  }

  /** Sends (or, while disconnected, buffers for replay) one dispatch in a session. */
  dispatchTo(session: FakeGatewaySession, t: string, d: unknown): void {
    session.seq += 1;
    const payload: GatewayPayload = { op: GatewayOpcode.Dispatch, d, s: session.seq, t };
    session.dispatched.push(payload);
    if (session.dispatched.length > REPLAY_BUFFER) session.dispatched.shift();
    const conn = this.connectionOf(session);
    if (conn) this.send(conn, payload);
  }

  /** Sessions that still receive events (connected, or disconnected but resumable). */
  activeSessions(): FakeGatewaySession[] {
    this.expire();
    return this.sessions.filter((s) => !s.invalidated);
  }

  /**
   * Dispatches an event to every active session whose intents include `intent` (when given) and
   * whose shard the guild maps to (DM events go to shard 0). Returns how many sessions got it.
   */
  dispatch(t: string, d: unknown, routing: { guildId?: string; intent?: number } = {}): number {
    let delivered = 0;
    for (const session of this.activeSessions()) {
      if (routing.intent !== undefined && (session.intents & routing.intent) === 0) continue;
      const [shardId, shardCount] = session.shard;
      const target = routing.guildId ? this.host.shardOf(routing.guildId, shardCount) : 0;
      if (target !== shardId) continue;
      this.dispatchTo(
        session,
        t,
        typeof d === 'function' ? (d as (s: FakeGatewaySession) => unknown)(session) : d,
      );
      delivered += 1;
    }
    return delivered;
  }

  /** Whether a connected session would receive events of this guild (or DMs). */
  connectedSessionFor(guildId?: string): FakeGatewaySession | undefined {
    return this.activeSessions().find((s) => {
      if (!s.connected) return false;
      const target = guildId ? this.host.shardOf(guildId, s.shard[1]) : 0;
      return target === s.shard[0];
    });
  }

  // ---- controls for tests ----

  /** Sends Heartbeat (op 1) to every connected client, asking for an immediate heartbeat. */
  requestHeartbeat(): void {
    for (const conn of this.live)
      if (conn.identified) this.send(conn, { op: GatewayOpcode.Heartbeat, d: null, s: null, t: null });
  }

  /** Sends Reconnect (op 7): clients should reconnect and resume. */
  requestReconnect(): void {
    for (const conn of this.live) this.send(conn, { op: GatewayOpcode.Reconnect, d: null, s: null, t: null });
  }

  /** Sends Invalid Session (op 9); unless resumable, the sessions end. */
  invalidateSessions(resumable = false): void {
    for (const conn of this.live) {
      if (!conn.session) continue;
      if (!resumable) conn.session.invalidated = true;
      this.send(conn, { op: GatewayOpcode.InvalidSession, d: resumable, s: null, t: null });
    }
  }

  /** Closes every connection with a close code; sessions stay resumable unless `invalidate`. */
  disconnectAll(code: number = GatewayCloseCode.UnknownError, invalidate = false): void {
    for (const conn of this.live) {
      if (invalidate && conn.session) conn.session.invalidated = true;
      this.closeConnection(conn, code, 'Closed by the fake.');
    }
  }

  /** Drops every connection without a close frame (like a network failure). */
  terminateAll(): void {
    for (const conn of this.live) {
      conn.record.closed ??= { code: 1006, reason: 'terminated', by: 'server' };
      conn.ws.terminate();
    }
  }

  async close(): Promise<void> {
    for (const conn of this.live) {
      if (conn.monitor) clearInterval(conn.monitor);
      conn.ws.terminate();
    }
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }
}
