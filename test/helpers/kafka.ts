// Kafka for tests. The runner (test/run.ts) starts one broker for the whole
// suite and passes it on as KAFKA_BROKERS; a test file run on its own
// (`node --test dist/test/bridge/x.test.js`) starts a private one through
// useKafka() instead, so both ways work.
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { startKafka, type KafkaStartOptions, type RunningKafka } from '../../scripts/kafka/kafka-broker.js';

export { startKafka, resolveKafkaJars, KafkaHarnessError } from '../../scripts/kafka/kafka-broker.js';
export type { KafkaStartOptions, RunningKafka } from '../../scripts/kafka/kafka-broker.js';

// kafkajs prints a v2 partitioner notice on every producer otherwise.
process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';

/** The brokers from KAFKA_BROKERS (comma separated host:port). Throws if unset. */
export function kafkaBrokers(): string[] {
  const v = process.env.KAFKA_BROKERS?.trim();
  if (!v) {
    throw new Error(
      'KAFKA_BROKERS is not set: run the tests through `node dist/test/run.js kafka` (it starts Kafka), ' +
        'or start one with `node dist/scripts/kafka/kafka-broker.js` and export what it prints',
    );
  }
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export interface KafkaLease {
  brokers: string[];
  /** Stops the broker if this lease started it; a no-op for the runner's shared broker. */
  release(): Promise<void>;
}

/** The runner's broker when KAFKA_BROKERS is set, else a private one for this test file. */
export async function useKafka(opts: KafkaStartOptions = {}): Promise<KafkaLease> {
  if (process.env.KAFKA_BROKERS?.trim()) return { brokers: kafkaBrokers(), release: async () => undefined };
  const k: RunningKafka = await startKafka(opts);
  return { brokers: k.brokers, release: () => k.stop() };
}

/** A kafkajs client for tests: warnings only, short retries. */
export function kafkaClient(brokers: string[], clientId = 'tern-test'): Kafka {
  return new Kafka({ brokers, clientId, logLevel: logLevel.WARN, retry: { retries: 8, initialRetryTime: 100 } });
}

/** A topic name no other test uses. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Creates topics and waits for their partition leaders. */
export async function createTopics(admin: Admin, topics: { topic: string; partitions: number }[]): Promise<void> {
  const created = await admin.createTopics({
    topics: topics.map((t) => ({ topic: t.topic, numPartitions: t.partitions, replicationFactor: 1 })),
    waitForLeaders: true,
  });
  if (!created) throw new Error(`topics already existed: ${topics.map((t) => t.topic).join(', ')}`);
}
