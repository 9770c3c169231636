// Parking for the RabbitMQ source: a message the target cannot hold (bigger than its
// max_payload) is copied, losslessly, to a durable queue on the same broker before the
// original is acked, because basic.ack deletes the only copy.
//
// One confirm channel per source, opened on first use on the source's (shared) connection
// and closed by close(); a new connection gets a new channel. A copy counts as parked only
// when the broker confirmed it (basic.ack for a persistent message in a durable queue) and
// did not return it (mandatory: a deleted parking queue is an error, not a silent drop).
// Parks run one at a time: oversized messages are rare, and serialising them is what lets
// a basic.return be matched to its publish without an extra correlation header.
import type * as amqp from 'amqplib';
import type { ParkedLocation, ParkRequest } from '../connector.js';
import { closeChannelQuietly } from './rabbitmq-connection.js';

/** Headers the parked copy gets in addition to the original ones (all `x-tern-bridge-*`). */
export const PARK_HEADERS = {
  error: 'x-tern-bridge-error',
  mapping: 'x-tern-bridge-mapping',
  targetSubject: 'x-tern-bridge-target-subject',
  sourceQueue: 'x-tern-bridge-source-queue',
  sourceExchange: 'x-tern-bridge-source-exchange',
  sourceRoutingKey: 'x-tern-bridge-source-routing-key',
  // Properties that cannot be kept as they are without losing the copy or failing the
  // publish move here (see parkedCopy).
  deliveryMode: 'x-tern-bridge-original-delivery-mode',
  expiration: 'x-tern-bridge-original-expiration',
  userId: 'x-tern-bridge-original-user-id',
  clusterId: 'x-tern-bridge-original-cluster-id',
} as const;

export function defaultParkingQueue(mappingName: string): string {
  return `tern-bridge.parked.${mappingName}`;
}

/** What parking needs of a delivery. */
export interface ParkSource {
  readonly body: Buffer;
  readonly properties: amqp.MessageProperties;
  readonly exchange: string;
  readonly routingKey: string;
}

/**
 * The copy to publish: the same body and properties, plus the x-tern-bridge-* headers.
 * Three properties are changed on purpose, the original value kept in a header:
 *   deliveryMode -> 2: a transient copy would vanish on a broker restart;
 *   expiration   -> none: the TTL would restart in the parking queue and drop the copy;
 *   userId       -> none unless it is the bridge's login: RabbitMQ refuses a publish whose
 *                   user-id is not the publishing user's.
 * clusterId cannot be published by amqplib at all, so it is kept as a header too.
 */
export function parkedCopy(
  raw: ParkSource,
  req: ParkRequest,
  sourceQueue: string,
  loginUser: string,
): { content: Buffer; options: amqp.Options.Publish } {
  const p = raw.properties;
  const headers: Record<string, unknown> = { ...(p.headers ?? {}) };
  headers[PARK_HEADERS.error] = req.error;
  headers[PARK_HEADERS.mapping] = req.mapping;
  if (req.targetSubject !== undefined) headers[PARK_HEADERS.targetSubject] = req.targetSubject;
  headers[PARK_HEADERS.sourceQueue] = sourceQueue;
  headers[PARK_HEADERS.sourceExchange] = raw.exchange;
  headers[PARK_HEADERS.sourceRoutingKey] = raw.routingKey;
  if (p.deliveryMode !== 2) headers[PARK_HEADERS.deliveryMode] = p.deliveryMode ?? 'unset';
  if (p.expiration !== undefined && p.expiration !== null) headers[PARK_HEADERS.expiration] = String(p.expiration);
  const keepUser = p.userId === undefined || p.userId === null || p.userId === loginUser;
  if (!keepUser) headers[PARK_HEADERS.userId] = String(p.userId);
  if (p.clusterId !== undefined && p.clusterId !== null) headers[PARK_HEADERS.clusterId] = String(p.clusterId);
  const options: amqp.Options.Publish = {
    mandatory: true,
    deliveryMode: 2,
    headers,
    contentType: p.contentType,
    contentEncoding: p.contentEncoding,
    priority: p.priority,
    correlationId: p.correlationId,
    replyTo: p.replyTo,
    messageId: p.messageId,
    timestamp: p.timestamp,
    type: p.type,
    appId: p.appId,
    ...(keepUser && p.userId !== undefined && p.userId !== null ? { userId: String(p.userId) } : {}),
  };
  return { content: raw.body, options };
}

/** Publishes parked copies to one queue over a confirm channel on the source's connection. */
export class ParkingPublisher {
  private ch: amqp.ConfirmChannel | undefined;
  private chOf: amqp.ChannelModel | undefined;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    readonly queue: string,
    private readonly mappingName: string,
  ) {}

  /** Park one message; resolves with its location once the broker confirmed it. */
  park(conn: amqp.ChannelModel, content: Buffer, options: amqp.Options.Publish): Promise<ParkedLocation> {
    const run = this.chain.then(() => this.publishOnce(conn, content, options));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async publishOnce(conn: amqp.ChannelModel, content: Buffer, options: amqp.Options.Publish): Promise<ParkedLocation> {
    const ch = await this.channel(conn);
    try {
      await new Promise<void>((resolve, reject) => {
        let returned = false;
        const onReturn = (): void => {
          returned = true;
        };
        const onClose = (): void => finish(new Error('channel closed before the broker confirmed'));
        const finish = (err: Error | null): void => {
          ch.removeListener('return', onReturn);
          ch.removeListener('close', onClose);
          if (err) reject(err);
          else if (returned) reject(new Error('the broker returned it as unroutable (parking queue deleted?)'));
          else resolve();
        };
        ch.on('return', onReturn);
        ch.once('close', onClose);
        try {
          // The return (if any) arrives before the confirm of the same publish.
          ch.publish('', this.queue, content, options, (err: unknown) =>
            finish(err ? new Error(`the broker nacked it (${err instanceof Error ? err.message : String(err)}): is the queue at a max-length with overflow reject-publish, or does a policy refuse it?`) : null),
          );
        } catch (e) {
          finish(e as Error);
        }
      });
    } catch (e) {
      // Start afresh next time: re-open the channel and re-declare the queue.
      this.drop();
      throw new Error(`cannot park the message in queue "${this.queue}" (mapping "${this.mappingName}"): ${(e as Error).message}`);
    }
    return { Queue: this.queue };
  }

  private async channel(conn: amqp.ChannelModel): Promise<amqp.ConfirmChannel> {
    if (this.ch && this.chOf === conn) return this.ch;
    this.drop();
    const open = async (): Promise<amqp.ConfirmChannel> => {
      const ch = await conn.createConfirmChannel();
      ch.on('error', () => undefined); // reported through the failed publish
      return ch;
    };
    let ch = await open();
    // An existing queue is used as it is (an operator may have set arguments or policies on
    // it); only a missing one is declared, durable. checkQueue on a missing queue closes the
    // channel, hence the second channel.
    try {
      await ch.checkQueue(this.queue);
    } catch {
      ch = await open();
      try {
        await ch.assertQueue(this.queue, { durable: true });
      } catch (e) {
        void closeChannelQuietly(ch);
        throw new Error(`cannot declare parking queue "${this.queue}" (mapping "${this.mappingName}"): ${(e as Error).message}`);
      }
    }
    ch.once('close', () => {
      if (this.ch === ch) this.ch = undefined;
    });
    this.ch = ch;
    this.chOf = conn;
    return ch;
  }

  /**
   * Close the confirm channel (source stopping). The connection is shared with other
   * mappings, so closing it would not take this channel along. A park still waiting for
   * its confirm fails; its message stays unacked and is redelivered.
   */
  async close(): Promise<void> {
    const ch = this.ch;
    this.ch = undefined;
    this.chOf = undefined;
    if (ch) await closeChannelQuietly(ch);
  }

  private drop(): void {
    void this.close();
  }
}
