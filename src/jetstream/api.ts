// The $JS.API request/reply surface: parse the subject and JSON body, call
// the manager, reply with nats-server's response shapes (`type` first, then
// either the payload or `error`). Every reply is one JSON message to the
// request's reply subject; requests without a reply subject are ignored.
import type { CreateConsumerRequest, MsgDeleteRequest, MsgGetRequest, PagedRequest, PurgeRequest, StreamInfoRequest } from './api-types.js';
import { ResponseType } from './api-types.js';
import { JsApiError, JsErr, toApiError } from './errors.js';
import type { JetStream } from './manager.js';

const NAMES_LIMIT = 1024;
const LIST_LIMIT = 256;

type Json = Record<string, unknown>;

function parseBody<T extends object>(payload: Buffer, allowEmpty = true): T | undefined {
  const text = payload.toString('utf8').trim();
  if (text === '') {
    if (allowEmpty) return undefined;
    throw JsErr.invalidJson();
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw JsErr.invalidJson();
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw JsErr.invalidJson();
  return v as T;
}

function offsetOf(req: PagedRequest | undefined): number {
  const o = req?.offset;
  return typeof o === 'number' && o > 0 ? Math.trunc(o) : 0;
}

export class JsApi {
  total = 0;
  errors = 0;

  constructor(private readonly js: JetStream) {}

  /** Handles one message on $JS.API.>; returns the reply body, or undefined for no reply. */
  async handle(subject: string, payload: Buffer): Promise<Json | undefined> {
    const t = subject.split('.');
    // $JS.API.<...>
    const op = t.slice(2);
    const [type, run] = this.route(op, payload);
    this.total++;
    try {
      const body = await run();
      return { type, ...body };
    } catch (err) {
      this.errors++;
      const e = toApiError(err);
      const out: Json = { type, error: e.toJSON() };
      // nats-server adds empty paging fields to stream info errors.
      if (type === ResponseType.streamInfo) Object.assign(out, { total: 0, offset: 0, limit: 0 });
      return out;
    }
  }

  private route(op: string[], payload: Buffer): [string, () => Promise<Json> | Json] {
    const js = this.js;
    const key = op.join('.');
    const a = op[0];
    const b = op[1];
    if (key === 'INFO') return [ResponseType.accountInfo, () => ({ ...js.accountInfo() })];
    if (a === 'STREAM') {
      if (b === 'NAMES' && op.length === 2) return [ResponseType.streamNames, () => this.streamNames(payload)];
      if (b === 'LIST' && op.length === 2) return [ResponseType.streamList, () => this.streamList(payload)];
      if (op.length === 3 && b !== undefined) {
        const name = op[2]!;
        switch (b) {
          case 'CREATE':
            return [ResponseType.streamCreate, () => js.createStream(name, parseBody<Json>(payload, false)).then((r) => ({ ...r.info, did_create: r.didCreate }))];
          case 'UPDATE':
            return [ResponseType.streamUpdate, () => js.updateStream(name, parseBody<Json>(payload, false)).then((i) => ({ ...i }))];
          case 'INFO':
            return [ResponseType.streamInfo, () => {
              const req = parseBody<StreamInfoRequest>(payload);
              const info = js.stream(name).info({ subjectsFilter: req?.subjects_filter, deletedDetails: req?.deleted_details === true });
              return { total: 0, offset: 0, limit: 0, ...info };
            }];
          case 'DELETE':
            return [ResponseType.streamDelete, () => js.deleteStream(name).then(() => ({ success: true }))];
          case 'PURGE':
            return [ResponseType.streamPurge, () => {
              const req = parseBody<PurgeRequest>(payload) ?? {};
              const purged = js.stream(name).purge(req);
              return { success: true, purged };
            }];
        }
      }
      if (op.length === 4 && b === 'MSG') {
        const name = op[3]!;
        if (op[2] === 'GET') {
          return [ResponseType.streamMsgGet, () => {
            const req = parseBody<MsgGetRequest>(payload, false)!;
            return { message: js.stream(name).getMessage(req) };
          }];
        }
        if (op[2] === 'DELETE') {
          return [ResponseType.streamMsgDelete, () => {
            const req = parseBody<MsgDeleteRequest>(payload, false)!;
            if (typeof req.seq !== 'number') throw JsErr.badRequest();
            js.stream(name).deleteMessage(req.seq);
            return { success: true };
          }];
        }
      }
    }
    if (a === 'CONSUMER') {
      if (b === 'CREATE' && op.length >= 3) {
        // CONSUMER.CREATE.<stream> (legacy ephemeral) or CONSUMER.CREATE.<stream>.<name>[.<filter>]
        const stream = op[2]!;
        const name = op.length >= 4 ? op[3]! : undefined;
        const filter = op.length >= 5 ? op.slice(4).join('.') : undefined;
        return [ResponseType.consumerCreate, () => js.createConsumer(stream, parseBody<CreateConsumerRequest>(payload, false)!, { mode: name ? 'named' : 'ephemeral', name, filter }).then((i) => ({ ...i }))];
      }
      if (b === 'DURABLE' && op[2] === 'CREATE' && op.length === 5) {
        return [ResponseType.consumerCreate, () => js.createConsumer(op[3]!, parseBody<CreateConsumerRequest>(payload, false)!, { mode: 'durable', name: op[4]! }).then((i) => ({ ...i }))];
      }
      if ((b === 'NAMES' || b === 'LIST') && op.length === 3) {
        const stream = op[2]!;
        if (b === 'NAMES') return [ResponseType.consumerNames, () => this.consumerNames(stream, payload)];
        return [ResponseType.consumerList, () => this.consumerList(stream, payload)];
      }
      if ((b === 'INFO' || b === 'DELETE') && op.length === 4) {
        const [stream, consumer] = [op[2]!, op[3]!];
        if (b === 'INFO') return [ResponseType.consumerInfo, () => ({ ...js.consumer(stream, consumer).info() })];
        return [ResponseType.consumerDelete, () => js.deleteConsumer(stream, consumer).then(() => ({ success: true }))];
      }
    }
    return [ResponseType.error, () => {
      throw JsErr.badRequest();
    }];
  }

  private streamNames(payload: Buffer): Json {
    const req = parseBody<PagedRequest>(payload);
    const offset = offsetOf(req);
    const names = this.js.streamNames(req?.subject);
    return { total: names.length, offset, limit: NAMES_LIMIT, streams: names.length ? names.slice(offset, offset + NAMES_LIMIT) : null };
  }

  private streamList(payload: Buffer): Json {
    const req = parseBody<PagedRequest>(payload);
    const offset = offsetOf(req);
    const names = this.js.streamNames(req?.subject);
    const streams = names.slice(offset, offset + LIST_LIMIT).map((n) => this.js.stream(n).info());
    return { total: names.length, offset, limit: LIST_LIMIT, streams };
  }

  private consumerNames(stream: string, payload: Buffer): Json {
    const req = parseBody<PagedRequest>(payload);
    const offset = offsetOf(req);
    const names = [...this.js.stream(stream).consumers.keys()].sort();
    return { total: names.length, offset, limit: NAMES_LIMIT, consumers: names.slice(offset, offset + NAMES_LIMIT) };
  }

  private consumerList(stream: string, payload: Buffer): Json {
    const req = parseBody<PagedRequest>(payload);
    const offset = offsetOf(req);
    const s = this.js.stream(stream);
    const names = [...s.consumers.keys()].sort();
    const consumers = names.slice(offset, offset + LIST_LIMIT).map((n) => s.consumers.get(n)!.info());
    return { total: names.length, offset, limit: LIST_LIMIT, consumers };
  }
}

export { JsApiError };
