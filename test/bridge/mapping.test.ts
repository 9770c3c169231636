// Mapping validation, templates and subject rules, without brokers: every error names the
// file, the mapping and the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMappingFile, MappingError, type ConnectionEntry } from '../../src/bridge/mapping.js';
import { rabbitmqConnector } from '../../src/bridge/connectors/rabbitmq.js';
import { kafkaConnector } from '../../src/bridge/connectors/kafka.js';
import { bindingKeyToSubject, escapeToken, patternCovers, subjectProblem } from '../../src/bridge/subject.js';
import { compileTemplate, renderTemplate, subjectPattern } from '../../src/bridge/template.js';
import { decodeHeaderValue, encodeAmqpHeaders, encodeHeaderValue } from '../../src/bridge/connectors/rabbitmq-headers.js';
import { loadBridgeConfig, BridgeConfigError, resolveConnections } from '../../src/bridge/config.js';
import { renderPlan } from '../../src/bridge/plan.js';
import type { AnyConnectorDefinition } from '../../src/bridge/connector.js';

const conns = new Map<string, ConnectionEntry>([
  ['rabbit', { name: 'rabbit', definition: rabbitmqConnector as unknown as AnyConnectorDefinition, value: { url: 'amqp://x' } }],
  ['kafka', { name: 'kafka', definition: kafkaConnector as unknown as AnyConnectorDefinition, value: { brokers: ['k:9092'] } }],
]);
const defaults = { retry: { maxAttempts: 3, backoffMs: 10, maxBackoffMs: 100 } };
const parse = (yaml: string) => parseMappingFile('orders.yaml', yaml, conns, defaults);

function expectError(yaml: string, field: string, re: RegExp): void {
  assert.throws(() => parse(yaml), (e: unknown) => {
    assert.ok(e instanceof MappingError, String(e));
    assert.equal(e.file, 'orders.yaml');
    assert.equal(e.field, field);
    assert.match(e.message, /^orders\.yaml: mapping "m1": /);
    assert.match(e.message, re);
    return true;
  });
}

const base = (over: string) => `
mappings:
  - name: m1
${over}`;

test('a valid tap mapping compiles with translated subject patterns', () => {
  const [m] = parse(base(`    source: { connection: rabbit, exchange: ex, bindingKeys: ["order.*.created", "audit.#"] }
    target: { subject: "legacy.{routingKey}", stream: S }
    dedup: { missing: hash }`));
  assert.deepEqual(m!.subjectPatterns, ['legacy.order.*.created', 'legacy.audit.>']);
  assert.equal(m!.deadLetterSubject, 'bridge.dlq.m1');
  assert.equal(m!.dedupKey!.source, '{messageId}');
});

test('mapping errors name the file, the mapping and the field', () => {
  expectError(base(`    source: { connection: nope, queue: q }\n    target: { subject: a }`), 'source.connection', /unknown connection "nope"/);
  expectError(base(`    source: { connection: rabbit, queue: q, bogus: 1 }\n    target: { subject: a }`), 'source.bogus', /unknown field/);
  expectError(base(`    source: { connection: rabbit, exchange: ex }\n    target: { subject: a }`), 'source.bindingKeys', /required with "exchange"/);
  expectError(base(`    source: { connection: rabbit, queue: q }\n    target: { subject: "a.{topic}" }\n    dedup: { missing: none }`), 'target.subject', /token \{topic\} is not provided by rabbitmq/);
  expectError(base(`    source: { connection: rabbit, queue: q }\n    target: { subject: "$JS.API.{routingKey}" }\n    dedup: { missing: none }`), 'target.subject', /reserved/);
  expectError(base(`    source: { connection: rabbit, queue: q }\n    target: { subject: "_INBOX.x" }\n    dedup: { missing: none }`), 'target.subject', /reserved/);
  expectError(base(`    source: { connection: rabbit, exchange: e, bindingKeys: ["#"] }\n    target: { subject: "{routingKey}" }\n    dedup: { missing: none }`), 'target.subject', /reserved/);
  expectError(base(`    source: { connection: rabbit, exchange: e, bindingKeys: ["a.#.b"] }\n    target: { subject: "x.{routingKey}" }\n    dedup: { missing: none }`), 'target.subject', /only translatable as the last word/);
  expectError(base(`    source: { connection: rabbit, queue: q }\n    target: { subject: "a..b" }\n    dedup: { missing: none }`), 'target.subject', /empty token/);
  expectError(base(`    source: { connection: rabbit, queue: q }\n    target: { subject: "a.{x" }\n    dedup: { missing: none }`), 'target.subject', /unclosed/);
  expectError(base(`    source: { connection: rabbit, queue: q }\n    target: { subject: a }`), 'dedup.missing', /choose "hash"/);
  expectError(base(`    source: { connection: rabbit, queue: q }\n    target: { subject: a }\n    dedup: { missing: maybe }`), 'dedup.missing', /must be "hash", "none" or "header:NAME"/);
  expectError(base(`    source: { connection: rabbit, queue: q }\n    target: { subject: a }\n    dedup: { missing: none }\n    retry: { maxAttempts: 0 }`), 'retry.maxAttempts', /positive integer/);
  expectError(base(`    source: { connection: rabbit, queue: q }\n    target: { subject: a }\n    dedup: { missing: none }\n    deadLetter: { subject: "$SYS.x" }`), 'deadLetter.subject', /reserved/);
  expectError(base(`    source: { connection: rabbit, queue: q }\n    target: { subject: a }\n    dedup: { missing: none }\n    extra: 1`), 'extra', /unknown field/);
  expectError(base(`    source: { connection: rabbit, queue: q }\n    target: { subject: a }\n    dedup: { missing: none }\n    parking: { queue: "" }`), 'parking.queue', /non-empty string/);
  expectError(base(`    source: { connection: rabbit, queue: q }\n    target: { subject: a }\n    dedup: { missing: none }\n    parking: { exchange: x }`), 'parking.exchange', /unknown field \(known: queue\)/);
  expectError(base(`    source: { connection: kafka, topic: t, group: g }\n    target: { subject: a }\n    parking: { queue: p }`), 'parking', /kafka sources keep oversized messages where they are .*Bridge-Source-\*/);
  assert.throws(() => parse('mappings: [ {'), /orders\.yaml: invalid YAML/);
});

test('subject escaping, binding-key translation and pattern coverage', () => {
  assert.equal(escapeToken('a b.c*>%'), 'a%20b%2Ec%2A%3E%25');
  assert.equal(escapeToken(''), '_');
  assert.equal(bindingKeyToSubject('order.*.#'), 'order.*.>');
  assert.equal(subjectProblem('a.>.b', true), '">" must be the last token');
  assert.ok(patternCovers('a.>', 'a.b.*'));
  assert.ok(patternCovers('a.*.c', 'a.b.c'));
  assert.ok(!patternCovers('a.*', 'a.>'));
  assert.ok(!patternCovers('a.b', 'a.*'));
  const t = compileTemplate('x.{rk.1}.{header.Tenant}.{routingKey}');
  assert.equal(renderTemplate(t, { routingKey: 'o.e u.c' }, [['tenant', 'ac.me']], true), 'x.e%20u.ac%2Eme.o.e%20u.c');
  assert.equal(subjectPattern(t, 'o.*.#'), 'x.*.*.o.*.>');
  assert.throws(() => renderTemplate(t, { routingKey: 'o' }, [], true), /no value for \{rk\.1\}/);
});

test('AMQP header codec is lossless for typed values', () => {
  const values: unknown[] = ['plain', '~tilde', ' padded ', 'multi\nline', 42, -1.5, true, null, { a: [1, { b: 'c' }] }, Buffer.from([0, 1, 255])];
  for (const v of values) assert.deepEqual(decodeHeaderValue(encodeHeaderValue(v)), v);
  const h = encodeAmqpHeaders({ messageId: 'm', headers: { 'a:b c': 1 } }, { exchange: 'ex', routingKey: 'rk' });
  assert.deepEqual(h, [['Amqp-Exchange', 'ex'], ['Amqp-Routing-Key', 'rk'], ['Amqp-Message-Id', 'm'], ['Amqp-Header-a%3Ab%20c', '~json:1']]);
});

test('bridge config: strict validation, env overrides, per-connection env credentials', async () => {
  assert.throws(() => loadBridgeConfig({ overrides: { bogus: 1 }, env: {} }), (e: unknown) => e instanceof BridgeConfigError && /bogus/.test(e.message));
  assert.throws(() => loadBridgeConfig({ overrides: { window: 0 }, env: {} }), /window/);
  assert.throws(() => loadBridgeConfig({ overrides: {}, env: { TERN_BRIDGE_TARGET_SERVERS: 'http://x' } }), /nats:\/\/ URL/);
  const cfg = loadBridgeConfig({
    overrides: { connections: { rabbit: { kind: 'rabbitmq', url: 'amqp://h:5672' } } },
    env: { TERN_BRIDGE_TARGET_SERVERS: 'nats://a:1, nats://b:2', TERN_BRIDGE_WINDOW: '77' },
  });
  assert.deepEqual(cfg.target.servers, ['nats://a:1', 'nats://b:2']);
  assert.equal(cfg.window, 77);
  const conns = await resolveConnections(cfg, { TERN_BRIDGE_RABBIT_PASSWORD: 's3cret' });
  assert.equal((conns.get('rabbit')!.value as { password: string }).password, 's3cret');
  const bad = loadBridgeConfig({ overrides: { connections: { r: { kind: 'rabbitmq', url: 'http://x' } } }, env: {} });
  await assert.rejects(resolveConnections(bad, {}), /connections\.r: .*amqp:\/\//);
  const bad2 = loadBridgeConfig({ overrides: { connections: { r: { kind: 'mqtt' } } }, env: {} });
  await assert.rejects(resolveConnections(bad2, {}), /connections\.r\.kind: unknown connector kind "mqtt"/);
});

test('plan shows topology, guarantees and where samples go', () => {
  const ms = parse(base(`    source: { connection: rabbit, exchange: ex, bindingKeys: ["order.*"] }
    target: { subject: "legacy.{routingKey}" }
    dedup: { missing: hash }`));
  const cfg = loadBridgeConfig({ env: {} });
  const text = renderPlan(cfg, ms, conns as never, { tokens: { routingKey: 'order.eu', messageId: 'm9' } });
  assert.match(text, /bind "tern-bridge\.m1" to exchange "ex" with key "order\.\*"/);
  assert.match(text, /core NATS \(at-most-once/);
  assert.match(text, /-> "legacy\.order\.eu" Nats-Msg-Id m9/);
  assert.match(text, /park messages bigger than the target's max_payload in durable queue "tern-bridge\.parked\.m1"/);
  const custom = parse(base(`    source: { connection: rabbit, queue: q }
    target: { subject: "a" }
    dedup: { missing: none }
    parking: { queue: ops.parked }`));
  assert.deepEqual(custom[0]!.parking, { queue: 'ops.parked' });
  assert.match(renderPlan(cfg, custom, conns as never), /park messages .* in durable queue "ops\.parked"/);
  const kafka = parse(base(`    source: { connection: kafka, topic: t, group: g }
    target: { subject: "a" }`));
  assert.equal(kafka[0]!.parking, undefined);
  assert.doesNotMatch(renderPlan(cfg, kafka, conns as never), /park/);
});
