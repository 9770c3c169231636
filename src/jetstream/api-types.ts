// Wire shapes of the JetStream API ($JS.API.*) as JSON: the type is the wire.
// Keys are snake_case exactly as nats-server writes them; durations are integer
// nanoseconds, times RFC3339Nano strings, message bytes base64.

export type RetentionPolicy = 'limits' | 'interest' | 'workqueue';
export type DiscardPolicy = 'old' | 'new';
export type StorageType = 'file' | 'memory';
export type DeliverPolicy = 'all' | 'last' | 'new' | 'by_start_sequence' | 'by_start_time' | 'last_per_subject';
export type AckPolicy = 'none' | 'all' | 'explicit';
export type ReplayPolicy = 'instant' | 'original';

export interface StreamConfig {
  name: string;
  description?: string;
  subjects?: string[];
  retention: RetentionPolicy;
  max_consumers: number;
  max_msgs: number;
  max_bytes: number;
  /** ns; 0 = unlimited */
  max_age: number;
  max_msgs_per_subject: number;
  max_msg_size: number;
  discard: DiscardPolicy;
  storage: StorageType;
  num_replicas: number;
  no_ack?: boolean;
  /** ns */
  duplicate_window: number;
  allow_direct: boolean;
  mirror_direct: boolean;
  sealed: boolean;
  deny_delete: boolean;
  deny_purge: boolean;
  allow_rollup_hdrs: boolean;
  first_seq?: number;
  metadata?: Record<string, string>;
}

export interface StreamState {
  messages: number;
  bytes: number;
  first_seq: number;
  first_ts: string;
  last_seq: number;
  last_ts: string;
  num_subjects?: number;
  subjects?: Record<string, number>;
  num_deleted?: number;
  deleted?: number[];
  consumer_count: number;
}

export interface StreamInfo {
  config: StreamConfig;
  created: string;
  state: StreamState;
  ts?: string;
}

export interface SequenceInfo {
  consumer_seq: number;
  stream_seq: number;
  last_active?: string;
}

export interface ConsumerConfig {
  durable_name?: string;
  name?: string;
  description?: string;
  deliver_policy: DeliverPolicy;
  opt_start_seq?: number;
  opt_start_time?: string;
  ack_policy: AckPolicy;
  /** ns */
  ack_wait?: number;
  max_deliver?: number;
  backoff?: number[];
  filter_subject?: string;
  filter_subjects?: string[];
  replay_policy: ReplayPolicy;
  rate_limit_bps?: number;
  sample_freq?: string;
  max_waiting?: number;
  max_ack_pending?: number;
  headers_only?: boolean;
  max_batch?: number;
  max_expires?: number;
  max_bytes?: number;
  inactive_threshold?: number;
  num_replicas: number;
  mem_storage?: boolean;
  deliver_subject?: string;
  deliver_group?: string;
  idle_heartbeat?: number;
  flow_control?: boolean;
  metadata?: Record<string, string>;
}

export interface ConsumerInfo {
  stream_name: string;
  name: string;
  created: string;
  config: ConsumerConfig;
  delivered: SequenceInfo;
  ack_floor: SequenceInfo;
  num_ack_pending: number;
  num_redelivered: number;
  num_waiting: number;
  num_pending: number;
  push_bound?: boolean;
  ts?: string;
}

export interface ApiErrorBody {
  code: number;
  err_code: number;
  description: string;
}

export interface PubAck {
  stream: string;
  seq: number;
  duplicate?: boolean;
  domain?: string;
}

/** Request bodies the API accepts. */
export interface CreateConsumerRequest {
  stream_name?: string;
  config?: Partial<ConsumerConfig>;
  action?: '' | 'create' | 'update';
}

export interface PagedRequest {
  offset?: number;
  subject?: string;
}

export interface StreamInfoRequest {
  subjects_filter?: string;
  deleted_details?: boolean;
  offset?: number;
}

export interface PurgeRequest {
  filter?: string;
  seq?: number;
  keep?: number;
}

export interface MsgGetRequest {
  seq?: number;
  last_by_subj?: string;
  next_by_subj?: string;
}

export interface MsgDeleteRequest {
  seq: number;
  no_erase?: boolean;
}

export interface PullRequest {
  batch: number;
  /** ns */
  expires: number;
  no_wait: boolean;
  max_bytes: number;
  /** ns */
  idle_heartbeat: number;
}

export interface StoredMessageJson {
  subject: string;
  seq: number;
  hdrs?: string;
  data?: string;
  time: string;
}

export interface AccountLimits {
  max_memory: number;
  max_storage: number;
  max_streams: number;
  max_consumers: number;
  max_ack_pending: number;
  memory_max_stream_bytes: number;
  storage_max_stream_bytes: number;
  max_bytes_required: boolean;
}

export interface AccountInfo {
  memory: number;
  storage: number;
  streams: number;
  consumers: number;
  limits: AccountLimits;
  api: { total: number; errors: number };
}

/** The `type` strings of each response. */
export const ResponseType = {
  accountInfo: 'io.nats.jetstream.api.v1.account_info_response',
  streamCreate: 'io.nats.jetstream.api.v1.stream_create_response',
  streamUpdate: 'io.nats.jetstream.api.v1.stream_update_response',
  streamInfo: 'io.nats.jetstream.api.v1.stream_info_response',
  streamDelete: 'io.nats.jetstream.api.v1.stream_delete_response',
  streamNames: 'io.nats.jetstream.api.v1.stream_names_response',
  streamList: 'io.nats.jetstream.api.v1.stream_list_response',
  streamPurge: 'io.nats.jetstream.api.v1.stream_purge_response',
  streamMsgGet: 'io.nats.jetstream.api.v1.stream_msg_get_response',
  streamMsgDelete: 'io.nats.jetstream.api.v1.stream_msg_delete_response',
  consumerCreate: 'io.nats.jetstream.api.v1.consumer_create_response',
  consumerInfo: 'io.nats.jetstream.api.v1.consumer_info_response',
  consumerDelete: 'io.nats.jetstream.api.v1.consumer_delete_response',
  consumerNames: 'io.nats.jetstream.api.v1.consumer_names_response',
  consumerList: 'io.nats.jetstream.api.v1.consumer_list_response',
  error: 'io.nats.jetstream.api.v1.error_response',
} as const;

/** Go's zero time, which nats-server prints for unset timestamps. */
export const ZERO_TIME = '0001-01-01T00:00:00Z';
