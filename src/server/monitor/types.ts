// Monitoring wire types: the JSON bodies of /varz, /connz, /subsz, /routez
// and /healthz with nats-server's field names (server/monitor.go). Optional
// fields are the ones nats-server omits when empty (`omitempty`). Times are
// RFC3339 strings, `time.Duration` fields integer nanoseconds, uptime/idle
// human strings ("1h2m3s").
import type { ConsumerInfo, StreamConfig, StreamInfo } from '../../jetstream/api-types.js';

export interface SlowConsumerStats {
  clients: number;
  routes: number;
  gateways: number;
  leafs: number;
}

export interface ClusterVarz {
  name?: string;
  addr?: string;
  cluster_port?: number;
  auth_timeout?: number;
  urls?: string[];
  tls_timeout?: number;
  pool_size?: number;
}

export interface Varz {
  server_id: string;
  server_name: string;
  version: string;
  proto: number;
  git_commit?: string;
  go: string;
  host: string;
  port: number;
  auth_required?: boolean;
  tls_required?: boolean;
  tls_verify?: boolean;
  ip?: string;
  connect_urls?: string[];
  max_connections: number;
  max_subscriptions?: number;
  ping_interval: number;
  ping_max: number;
  http_host: string;
  http_port: number;
  http_base_path: string;
  https_port: number;
  auth_timeout: number;
  max_control_line: number;
  max_payload: number;
  max_pending: number;
  cluster: ClusterVarz;
  gateway: Record<string, never>;
  leaf: Record<string, never>;
  mqtt: Record<string, never>;
  websocket: Record<string, never>;
  jetstream: JetStreamVarz;
  tls_timeout: number;
  write_deadline: number;
  start: string;
  now: string;
  uptime: string;
  mem: number;
  cores: number;
  gomaxprocs: number;
  cpu: number;
  connections: number;
  total_connections: number;
  routes: number;
  remotes: number;
  leafnodes: number;
  in_msgs: number;
  out_msgs: number;
  in_bytes: number;
  out_bytes: number;
  slow_consumers: number;
  slow_consumer_stats?: SlowConsumerStats;
  stale_connections?: number;
  subscriptions: number;
  http_req_stats: Record<string, number>;
  config_load_time: string;
  system_account?: string;
}

export interface SubDetail {
  account?: string;
  subject: string;
  qgroup?: string;
  sid: string;
  msgs: number;
  max?: number;
  cid: number;
}

export interface ConnInfo {
  cid: number;
  kind: string;
  type: string;
  ip: string;
  port: number;
  start: string;
  last_activity: string;
  stop?: string;
  reason?: string;
  rtt: string;
  uptime: string;
  idle: string;
  pending_bytes: number;
  in_msgs: number;
  out_msgs: number;
  in_bytes: number;
  out_bytes: number;
  subscriptions: number;
  name?: string;
  lang?: string;
  version?: string;
  tls_version?: string;
  tls_cipher_suite?: string;
  authorized_user?: string;
  subscriptions_list?: string[];
  subscriptions_list_detail?: SubDetail[];
}

export interface Connz {
  server_id: string;
  now: string;
  num_connections: number;
  total: number;
  offset: number;
  limit: number;
  connections: ConnInfo[];
}

export interface Subsz {
  server_id: string;
  now: string;
  num_subscriptions: number;
  num_cache: number;
  num_inserts: number;
  num_removes: number;
  num_matches: number;
  cache_hit_rate: number;
  max_fanout: number;
  avg_fanout: number;
  total: number;
  offset: number;
  limit: number;
  subscriptions_list?: SubDetail[];
}

export interface RouteInfo {
  rid: number;
  remote_id: string;
  remote_name?: string;
  did_solicit: boolean;
  is_configured: boolean;
  ip: string;
  port: number;
  start: string;
  last_activity: string;
  rtt?: string;
  uptime: string;
  idle: string;
  pending_size: number;
  in_msgs: number;
  out_msgs: number;
  in_bytes: number;
  out_bytes: number;
  subscriptions: number;
  subscriptions_list?: string[];
  subscriptions_list_detail?: SubDetail[];
}

export interface Routez {
  server_id: string;
  server_name: string;
  now: string;
  num_routes: number;
  routes: RouteInfo[];
}

export interface HealthStatus {
  status: 'ok' | 'unavailable' | 'error';
  error?: string;
}

// ---- JetStream (/jsz, /varz jetstream) ------------------------------------------

export interface JsConfigInfo {
  max_memory: number;
  max_storage: number;
  store_dir?: string;
}

export interface JetStreamStats {
  memory: number;
  storage: number;
  reserved_memory: number;
  reserved_storage: number;
  accounts: number;
  ha_assets: number;
  api: { total: number; errors: number };
}

/** /varz `jetstream`: empty when JetStream is off. */
export interface JetStreamVarz {
  config?: JsConfigInfo;
  stats?: JetStreamStats;
}

export interface JsStreamDetail {
  name: string;
  created: string;
  cluster?: { leader: string };
  config?: StreamConfig;
  state?: StreamInfo['state'];
  consumer_detail?: Array<Omit<ConsumerInfo, 'config'> & { config?: ConsumerInfo['config'] }>;
}

export interface JsAccountDetail extends JetStreamStats {
  name: string;
  id: string;
  stream_detail?: JsStreamDetail[];
}

export interface JsInfo extends JetStreamStats {
  server_id: string;
  now: string;
  disabled?: boolean;
  config: JsConfigInfo;
  streams: number;
  consumers: number;
  messages: number;
  bytes: number;
  account_details?: JsAccountDetail[];
}
