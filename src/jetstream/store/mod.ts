// Public surface of the JetStream storage layer. Code outside src/jetstream/store
// imports from here only.

export {
  StoreError,
  UNLIMITED,
  fileStoreMsgSize,
  memStoreMsgSize,
  type DiscardPolicy,
  type PurgeOptions,
  type StorageUpdateListener,
  type StoredMessage,
  type StoreErrorCode,
  type StoreLimits,
  type StoreResult,
  type StoreState,
  type StreamStore,
} from './store.js';
export { MemoryStore, type MemoryStoreOptions } from './memory-store.js';
export {
  FileStore,
  DEFAULT_BLOCK_SIZE,
  DEFAULT_SYNC_INTERVAL_MS,
  type FileStoreOptions,
  type RecoveryReport,
  type SyncPolicy,
} from './file-store.js';
export { openStreamStore, type OpenStoreOptions } from './open-store.js';
export { DedupWindow } from './dedup.js';
export {
  findHeader,
  parseHeaders,
  buildHeaders,
  HeaderError,
  NATS_MSG_ID,
  NATS_EXPECTED_STREAM,
  NATS_EXPECTED_LAST_SEQ,
  NATS_EXPECTED_LAST_SUBJECT_SEQ,
  NATS_EXPECTED_LAST_MSG_ID,
  NATS_ROLLUP,
  type HeaderInput,
  type ParsedHeaders,
} from '../../protocol/headers.js';
export {
  ConsumerStateFile,
  ConsumerStateError,
  emptyConsumerState,
  encodeConsumerState,
  decodeConsumerState,
  type ConsumerState,
  type ConsumerStateFileOptions,
  type PendingAck,
  type SequencePair,
} from './consumer-state.js';
export {
  listStreams,
  listConsumers,
  readMeta,
  writeMeta,
  streamDir,
  consumerDir,
  checkName,
  StoreNameError,
  type MetaEntry,
  type MetaListing,
  type StoredMeta,
} from './stream-meta.js';
export { subjectMatches, isLiteral, isAll } from './subject.js';
export { nowNs, nsToRfc3339 } from './time.js';
