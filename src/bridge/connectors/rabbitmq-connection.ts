// One AMQP connection per named connection of the bridge config, shared by every mapping
// that names it; each mapping opens its own channel on it (rabbitmq.ts). RabbitMQ operators
// expect one connection per client with a channel per consumer, and it is cheaper: the
// broker's writer batches the deliveries of all channels into fewer, larger socket writes.
//
// Invariants:
//   - A SharedConnection is found by its key (config name, URL with credentials, client
//     connection_name); it stays in the registry while at least one user is registered
//     (between its first acquire() and its release()). Two bridges in one process with the
//     same settings (tests) share it too; reference counting keeps their lifetimes apart.
//   - Single flight: at most one connect attempt at a time; every acquire() during it
//     awaits that attempt and gets the same result (connection or error).
//   - When the connection closes or fails, every registered user's connectionLost() runs
//     once, synchronously, before anyone can acquire again. Users then run their own
//     backoff (the pool itself never retries); acquire() calls during an attempt share it,
//     and when one succeeds every user's connectionUp() runs, so that those still waiting
//     out a backoff take the new connection now.
//   - The last release() closes the connection (or the one still being opened).
//   - A connection the broker closed in the same read as its open-ok (its close event
//     came before open() could listen) is refused there, never made current.
import * as amqp from 'amqplib';

/** What identifies one shared connection. */
export interface SharedConnectionKey {
  /** The connection's name in the config (`connections.<name>`), for errors. */
  readonly name: string;
  /** The URL to connect to, credentials and heartbeat included. */
  readonly url: string;
  /** The same URL with the password hidden, for errors and logs. */
  readonly redactedUrl: string;
  /** The `connection_name` client property (shown in the RabbitMQ UI and rabbitmqctl). */
  readonly clientName: string;
}

/** A mapping's source using a shared connection. */
export interface ConnectionUser {
  /**
   * The connection this user got from acquire() closed or failed; its channels are gone.
   * Called synchronously from amqplib's close event: must not throw.
   */
  connectionLost(why: string): void;
  /**
   * A new connection is open: a user waiting out its backoff may retry now instead of
   * after its own delay. Must not throw.
   */
  connectionUp(): void;
}

const registry = new Map<string, SharedConnection>();

function registryKey(k: SharedConnectionKey): string {
  return `${k.name}\u0000${k.url}\u0000${k.clientName}`;
}

export class SharedConnection {
  private model: amqp.ChannelModel | undefined;
  private connecting: Promise<amqp.ChannelModel> | undefined;
  private readonly users = new Set<ConnectionUser>();
  private lastError: string | undefined;

  private constructor(private readonly key: SharedConnectionKey) {}

  /**
   * The shared connection for these settings, created (not connected) on first use. Call
   * acquire() on it right away: an entry without users is dropped by the next release().
   */
  static for(key: SharedConnectionKey): SharedConnection {
    const k = registryKey(key);
    let c = registry.get(k);
    if (!c) registry.set(k, (c = new SharedConnection(key)));
    return c;
  }

  /** The open connection, if any; undefined while disconnected. */
  get current(): amqp.ChannelModel | undefined {
    return this.model;
  }

  /**
   * Register `user` (idempotent) and resolve with the open connection, connecting first
   * if there is none. Rejects with a clear error if the attempt fails; the user stays
   * registered and may call again.
   */
  acquire(user: ConnectionUser): Promise<amqp.ChannelModel> {
    this.users.add(user);
    if (this.model) return Promise.resolve(this.model);
    return (this.connecting ??= this.open().finally(() => (this.connecting = undefined)));
  }

  /** Unregister `user`; the last one closes the connection. */
  async release(user: ConnectionUser): Promise<void> {
    if (!this.users.delete(user) || this.users.size > 0) return;
    const k = registryKey(this.key);
    if (registry.get(k) === this) registry.delete(k);
    const m = this.model;
    this.model = undefined; // its close event is ours, not a loss to report
    if (m) await m.close().catch(() => undefined);
    // An attempt still under way is closed once it lands (open() sees no users).
    await this.connecting?.catch(() => undefined);
  }

  private async open(): Promise<amqp.ChannelModel> {
    const { url, redactedUrl, name, clientName } = this.key;
    let m: amqp.ChannelModel;
    try {
      m = await amqp.connect(url, { clientProperties: { connection_name: clientName } });
    } catch (e) {
      throw new Error(`cannot connect to RabbitMQ at ${redactedUrl} (connection "${name}"): ${(e as Error).message}`);
    }
    if (this.users.size === 0) {
      // Everyone released while we were connecting.
      await m.close().catch(() => undefined);
      throw new Error(`connection "${name}" was released while connecting`);
    }
    this.lastError = undefined;
    // Without an 'error' listener amqplib's emit would throw; the close event follows.
    m.on('error', (err: Error) => (this.lastError = err.message));
    m.on('close', (err?: Error) => this.onClose(m, err));
    // The broker may close the connection right after opening it (a forced close, a broker
    // shutting down) in the same read as open-ok: amqplib then emitted 'close' before this
    // continuation attached the listener above. Such a connection must not become current.
    if (isClosed(m)) throw new Error(`connection "${name}" to ${redactedUrl} was closed by the broker as it opened`);
    this.model = m;
    for (const u of [...this.users]) u.connectionUp();
    return m;
  }

  private onClose(m: amqp.ChannelModel, err: Error | undefined): void {
    if (this.model !== m) return; // released, or already replaced
    this.model = undefined;
    const why = err?.message ?? this.lastError ?? 'connection closed';
    for (const u of [...this.users]) {
      try {
        u.connectionLost(why);
      } catch {
        // a user's failure must not keep the others from learning about the loss
      }
    }
  }
}

/** amqplib ends the socket when the connection closes (Connection.toClosed). */
function isClosed(m: amqp.ChannelModel): boolean {
  const stream = (m as unknown as { connection?: { stream?: { writableEnded?: boolean; destroyed?: boolean } } }).connection?.stream;
  return stream?.writableEnded === true || stream?.destroyed === true;
}

/** Close a channel, ignoring that it may be closed already (amqplib then throws synchronously). */
export function closeChannelQuietly(ch: amqp.Channel): Promise<void> {
  try {
    return ch.close().catch(() => undefined);
  } catch {
    return Promise.resolve();
  }
}
