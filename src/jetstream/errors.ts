// The JetStream API error catalogue: err_code, HTTP-like code and description
// as nats-server's server/errors.json defines them, so clients that switch on
// err_code (nats.js does for 10059, 10014, 10037, 10071 ...) behave the same.
import type { ApiErrorBody } from './api-types.js';

/** An API failure that becomes `"error":{code,err_code,description}` on the wire. */
export class JsApiError extends Error {
  constructor(
    readonly code: number,
    readonly errCode: number,
    readonly description: string,
  ) {
    super(description);
    this.name = 'JsApiError';
  }

  toJSON(): ApiErrorBody {
    return { code: this.code, err_code: this.errCode, description: this.description };
  }
}

const e = (code: number, errCode: number, description: string) => (): JsApiError =>
  new JsApiError(code, errCode, description);

export const JsErr = {
  badRequest: e(400, 10003, 'bad request'),
  consumerNotFound: e(404, 10014, 'consumer not found'),
  consumerNameExist: e(400, 10013, 'consumer name already in use'),
  invalidJson: e(400, 10025, 'invalid JSON'),
  noMessageFound: e(404, 10037, 'no message found'),
  notEmptyRequest: e(400, 10038, 'expected an empty request payload'),
  notEnabledForAccount: e(503, 10039, 'JetStream not enabled for account'),
  streamMismatch: e(400, 10056, 'stream name in subject does not match request'),
  streamNameExist: e(400, 10058, 'stream name already in use with a different configuration'),
  streamNotFound: e(404, 10059, 'stream not found'),
  streamNotMatch: e(400, 10060, 'expected stream does not match'),
  streamSubjectOverlap: e(400, 10065, 'subjects overlap with an existing stream'),
  streamReplicasNotSupported: e(500, 10074, 'replicas > 1 not supported in non-clustered mode'),
  streamReplicasNotUpdatable: e(400, 10061, 'Replicas configuration can not be updated'),
  streamMessageExceedsMaximum: e(400, 10054, 'message size exceeds maximum allowed'),
  streamHeaderExceedsMaximum: e(400, 10097, 'header size exceeds maximum allowed of 64k'),
  streamSealed: e(400, 10109, 'invalid operation on sealed stream'),
  maximumConsumersLimit: e(400, 10026, 'maximum consumers limit reached'),
  consumerConfigRequired: e(400, 10078, 'consumer config required'),
  consumerDeliverToWildcards: e(400, 10079, 'consumer deliver subject has wildcards'),
  consumerPushMaxWaiting: e(400, 10080, 'consumer in push mode can not set max waiting'),
  consumerDeliverCycle: e(400, 10081, 'consumer deliver subject forms a cycle'),
  consumerMaxPendingAckPolicyRequired: e(400, 10082, 'consumer requires ack policy for max ack pending'),
  consumerSmallHeartbeat: e(400, 10083, 'consumer idle heartbeat needs to be >= 100ms'),
  consumerPullRequiresAck: e(400, 10084, 'consumer in pull mode requires explicit ack policy on workqueue stream'),
  consumerMaxWaitingNegative: e(400, 10087, 'consumer max waiting needs to be positive'),
  consumerHbRequiresPush: e(400, 10088, 'consumer idle heartbeat requires a push based consumer'),
  consumerFcRequiresPush: e(400, 10089, 'consumer flow control requires a push based consumer'),
  consumerFilterNotSubset: e(400, 10093, 'consumer filter subject is not a valid subset of the interest subjects'),
  consumerWqRequiresExplicitAck: e(400, 10098, 'workqueue stream requires explicit ack'),
  consumerWqMultipleUnfiltered: e(400, 10099, 'multiple non-filtered consumers not allowed on workqueue stream'),
  consumerWqConsumerNotUnique: e(400, 10100, 'filtered consumer not unique on workqueue stream'),
  consumerWqConsumerNotDeliverAll: e(400, 10101, 'consumer must be deliver all on workqueue stream'),
  consumerBadDurableName: e(400, 10103, "durable name can not contain '.', '*', '>'"),
  consumerExistingActive: e(400, 10105, 'consumer already exists and is still active'),
  consumerWithFlowControlNeedsHeartbeats: e(400, 10108, 'consumer with flow control also needs heartbeats'),
  consumerInvalidDeliverSubject: e(400, 10112, 'invalid push consumer deliver subject'),
  consumerMaxRequestBatchNegative: e(400, 10114, 'consumer max request batch needs to be > 0'),
  consumerMaxRequestExpiresTooSmall: e(400, 10115, 'consumer max request expires needs to be >= 1ms'),
  consumerMaxDeliverBackoff: e(400, 10116, 'max deliver is required to be > length of backoff values'),
  consumerNameContainsPathSeparators: e(400, 10127, 'Consumer name can not contain path separators'),
  streamNameContainsPathSeparators: e(400, 10128, 'Stream name can not contain path separators'),
  consumerCreateFilterSubjectMismatch: e(400, 10131, 'Consumer create request did not match filtered subject from create subject'),
  consumerCreateDurableAndNameMismatch: e(400, 10132, 'Consumer Durable and Name have to be equal if both are provided'),
  replicasCountCannotBeNegative: e(400, 10133, 'replicas count cannot be negative'),
  consumerDuplicateFilterSubjects: e(400, 10136, 'consumer cannot have both FilterSubject and FilterSubjects specified'),
  consumerMultipleFiltersNotAllowed: e(400, 10137, 'consumer with multiple subject filters cannot use subject based API'),
  consumerOverlappingSubjectFilters: e(400, 10138, 'consumer subject filters cannot overlap'),
  consumerEmptyFilter: e(400, 10139, 'consumer filter in FilterSubjects cannot be empty'),
  consumerAlreadyExists: e(400, 10148, 'consumer already exists'),
  consumerDoesNotExist: e(400, 10149, 'consumer does not exist'),
  consumerEphemeralWithDurableName: e(400, 10020, 'consumer expected to be ephemeral but a durable name was set in request'),
  consumerEphemeralWithDurableInSubject: e(400, 10019, 'consumer expected to be ephemeral but detected a durable name set in subject'),
  consumerDurableNameNotInSubject: e(400, 10016, 'consumer expected to be durable but no durable name set in subject'),
  consumerDurableNameNotMatchSubject: e(400, 10017, 'consumer name in subject does not match durable name in request'),
  consumerDurableNameNotSet: e(400, 10018, 'consumer expected to be durable but a durable name was not set'),
  consumerDescriptionTooLong: (max: number) => new JsApiError(400, 10107, `consumer description is too long, maximum allowed is ${max}`),
  consumerNameTooLong: (max: number) => new JsApiError(400, 10102, `consumer name is too long, maximum allowed is ${max}`),
  consumerCreate: (err: string) => new JsApiError(500, 10012, err),
  consumerInvalidPolicy: (err: string) => new JsApiError(400, 10094, err),
  invalidJsonWith: (err: string) => new JsApiError(400, 10025, `invalid JSON: ${err}`),
  streamInvalidConfig: (err: string) => new JsApiError(500, 10052, err),
  streamCreate: (err: string) => new JsApiError(500, 10049, err),
  streamUpdate: (err: string) => new JsApiError(500, 10069, err),
  streamGeneral: (err: string) => new JsApiError(500, 10051, err),
  streamStoreFailed: (err: string) => new JsApiError(503, 10077, err),
  streamMsgDeleteFailed: (err: string) => new JsApiError(500, 10057, err),
  streamPurgeFailed: (err: string) => new JsApiError(500, 10110, err),
  streamWrongLastSequence: (seq: number) => new JsApiError(400, 10071, `wrong last sequence: ${seq}`),
  streamWrongLastMsgId: (id: string) => new JsApiError(400, 10070, `wrong last msg ID: ${id}`),
  sequenceNotFound: (seq: number) => new JsApiError(400, 10043, `sequence ${seq} not found`),
} as const;

/** Wraps anything thrown inside an API handler into a JsApiError. */
export function toApiError(err: unknown, fallback: (msg: string) => JsApiError = JsErr.streamGeneral): JsApiError {
  if (err instanceof JsApiError) return err;
  return fallback(err instanceof Error ? err.message : String(err));
}
