// The connector registry: one line per system. Loaders are lazy so that a bridge with
// only RabbitMQ mappings never loads kafkajs (and vice versa).
import type { AnyConnectorDefinition, ConnectorKind } from '../connector.js';

type Loader = () => Promise<AnyConnectorDefinition>;

const registry: Partial<Record<ConnectorKind, Loader>> = {
  rabbitmq: async () => (await import('./rabbitmq.js')).rabbitmqConnector,
  kafka: async () => (await import('./kafka.js')).kafkaConnector,
};

/** Every registered kind, for error messages ("expected one of ..."). */
export function connectorKinds(): ConnectorKind[] {
  return Object.keys(registry) as ConnectorKind[];
}

/** The definition of a kind; throws naming the known kinds when it is not registered. */
export async function loadConnector(kind: string): Promise<AnyConnectorDefinition> {
  const loader = (registry as Record<string, Loader | undefined>)[kind];
  if (!loader) throw new Error(`unknown connector kind "${kind}" (known: ${connectorKinds().join(', ')})`);
  return loader();
}
