// docker-compose.yml cannot run here (no Docker engine), so its structure is checked:
// every service the migration test bed needs, wired to each other and to Prometheus.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { REPO_ROOT } from '../helpers/servers.js';

interface Service {
  image?: string;
  command?: string[] | string;
  entrypoint?: string[];
  environment?: Record<string, string | number>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, unknown> | string[];
}

const compose = YAML.parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const svc = compose.services;

test('compose has RabbitMQ with the management UI, Kafka in KRaft mode, 3 Tern nodes, the bridge and Prometheus', () => {
  for (const name of ['rabbitmq', 'kafka', 'tern-1', 'tern-2', 'tern-3', 'bridge', 'prometheus']) assert.ok(svc[name], `service ${name}`);
  assert.match(svc['rabbitmq']!.image!, /management/);
  assert.ok(svc['rabbitmq']!.ports!.includes('15672:15672'), 'management UI port');
  const kenv = svc['kafka']!.environment!;
  assert.match(String(kenv['KAFKA_PROCESS_ROLES']), /controller/, 'KRaft: no ZooKeeper');
  assert.ok(!Object.keys(svc).some((s) => /zookeeper/i.test(s)));
});

test('the Tern nodes run JetStream and route to each other as one cluster', () => {
  const names = ['tern-1', 'tern-2', 'tern-3'];
  for (const n of names) {
    const cmd = svc[n]!.command as string[];
    assert.deepEqual(svc[n]!.entrypoint, ['node', '/app/dist/src/cli/main.js']);
    assert.equal(cmd[0], 'server');
    assert.ok(cmd.includes('-js'), `${n} has JetStream`);
    assert.equal(cmd[cmd.indexOf('--cluster_name') + 1], 'tern');
    const routes = cmd[cmd.indexOf('--routes') + 1]!.split(',');
    assert.deepEqual(routes.map((r) => new URL(r).hostname).sort(), names.filter((x) => x !== n));
    assert.ok(cmd.includes('-m'), `${n} exposes monitoring for Prometheus`);
  }
});

test('the bridge mounts mappings/ and a config that points at all three nodes and RabbitMQ', () => {
  const b = svc['bridge']!;
  assert.deepEqual((b.command as string[]).slice(0, 3), ['bridge', '--config', '/etc/tern/bridge.yaml']);
  assert.ok(b.volumes!.includes('./mappings:/etc/tern/mappings:ro'));
  const cfgMount = b.volumes!.find((v) => v.endsWith(':/etc/tern/bridge.yaml:ro'))!;
  const cfgPath = join(REPO_ROOT, cfgMount.split(':')[0]!);
  assert.ok(existsSync(cfgPath), `${cfgPath} exists`);
  const cfg = YAML.parse(readFileSync(cfgPath, 'utf8')) as { target: { servers: string[] }; connections: Record<string, { url: string }>; mappings: string; metrics: { port: number } };
  assert.deepEqual(cfg.target.servers.map((s) => new URL(s).hostname).sort(), ['tern-1', 'tern-2', 'tern-3']);
  assert.equal(new URL(cfg.connections['rabbit']!.url).hostname, 'rabbitmq');
  assert.equal(cfg.mappings, '/etc/tern/mappings');
  assert.ok(b.ports!.includes(`${cfg.metrics.port}:${cfg.metrics.port}`));
  assert.ok(b.environment!['TERN_BRIDGE_RABBIT_PASSWORD'] !== undefined, 'credentials via env');
  assert.ok(existsSync(join(REPO_ROOT, 'mappings')), 'mappings/ exists');
});

test('Prometheus scrapes the bridge, every Tern node, RabbitMQ and Kafka', () => {
  const p = svc['prometheus']!;
  const mount = p.volumes!.find((v) => v.includes('/etc/prometheus/prometheus.yml'))!;
  const prom = YAML.parse(readFileSync(join(REPO_ROOT, mount.split(':')[0]!), 'utf8')) as { scrape_configs: Array<{ job_name: string; static_configs: Array<{ targets: string[] }> }> };
  const targets = prom.scrape_configs.flatMap((j) => j.static_configs.flatMap((s) => s.targets));
  const hosts = new Set(targets.map((t) => t.split(':')[0]!));
  for (const h of hosts) assert.ok(svc[h], `scrape target ${h} is a compose service`);
  for (const h of ['bridge', 'tern-1', 'tern-2', 'tern-3', 'rabbitmq', 'kafka-exporter']) assert.ok(hosts.has(h), `Prometheus scrapes ${h}`);
  const cfg = YAML.parse(readFileSync(join(REPO_ROOT, 'deploy/bridge/bridge.yaml'), 'utf8')) as { metrics: { port: number } };
  assert.ok(targets.includes(`bridge:${cfg.metrics.port}`), 'bridge scraped on its metrics port');
});
