// RabbitMQ source connector on amqplib (work in progress: see connector.ts for the contract).
import type { ConnectorDefinition } from '../connector.js';
export declare const rabbitmqConnector: ConnectorDefinition<unknown, unknown>;
