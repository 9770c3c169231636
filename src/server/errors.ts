// Wire error texts and closed-connection reasons, exactly as nats-server
// spells them (clients match on some of these strings, e.g. nats.js on
// 'Authorization Violation' and 'Permissions Violation for ...').

/** Texts sent as `-ERR '<text>'`. */
export const ErrText = {
  unknownProtocol: 'Unknown Protocol Operation',
  authorizationViolation: 'Authorization Violation',
  authenticationTimeout: 'Authentication Timeout',
  maxPayload: 'Maximum Payload Violation',
  maxControlLine: 'maximum control line exceeded',
  maxConnections: 'maximum connections exceeded',
  maxSubscriptions: 'maximum subscriptions exceeded',
  invalidClientProtocol: 'invalid client protocol',
  noRespondersRequiresHeaders: 'no responders requires headers support',
  staleConnection: 'Stale Connection',
  invalidSubject: 'Invalid Subject',
  invalidPublishSubject: 'Invalid Publish Subject',
} as const;

export function permissionsViolationPublish(subject: string): string {
  return `Permissions Violation for Publish to "${subject}"`;
}

export function permissionsViolationReply(reply: string): string {
  return `Permissions Violation for Publish with Reply of "${reply}"`;
}

export function permissionsViolationSubscribe(subject: string, queue: string | null): string {
  return queue === null
    ? `Permissions Violation for Subscription to "${subject}"`
    : `Permissions Violation for Subscription to "${subject}" using queue "${queue}"`;
}

/** Why a connection was closed; the strings are nats-server's ClosedState names (/connz `reason`). */
export const ClosedReason = {
  clientClosed: 'Client Closed',
  authenticationTimeout: 'Authentication Timeout',
  authenticationViolation: 'Authentication Failure',
  slowConsumerPendingBytes: 'Slow Consumer (Pending Bytes)',
  slowConsumerWriteDeadline: 'Slow Consumer (Write Deadline)',
  writeError: 'Write Error',
  readError: 'Read Error',
  parseError: 'Parse Error',
  staleConnection: 'Stale Connection',
  protocolViolation: 'Protocol Violation',
  badClientProtocolVersion: 'Bad Client Protocol Version',
  maxConnectionsExceeded: 'Maximum Connections Exceeded',
  maxPayloadExceeded: 'Maximum Message Payload Exceeded',
  maxControlLineExceeded: 'Maximum Control Line Exceeded',
  serverShutdown: 'Server Shutdown',
  noRespondersRequiresHeaders: 'No Responders Requires Headers',
  msgHeaderViolation: 'Message Header Violation',
  routeRemoved: 'Route Removed',
  duplicateRoute: 'Duplicate Route',
} as const;

export type ClosedReasonText = (typeof ClosedReason)[keyof typeof ClosedReason];
