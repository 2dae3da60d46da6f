import { Logger } from '@aws-lambda-powertools/logger';
import { createAwsClients, createAwsDependencies } from './aws-dependencies';
import { systemClock } from './clock';
import { readAwsResourcesConfig, readGatewayConfig } from './config';
import { createGateway } from './gateway';
import { GatewayMetrics } from './metrics';

/**
 * Lambda entry point. Configuration, clients, logger and metrics are built once per container at
 * cold start; a missing environment variable fails here, naming it. The log level comes from
 * LOG_LEVEL (Powertools reads it), the service name from POWERTOOLS_SERVICE_NAME.
 */
const config = readGatewayConfig(process.env);
const resources = readAwsResourcesConfig(process.env);
const logger = new Logger();
const metrics = new GatewayMetrics();

export const handler = createGateway(createAwsDependencies(config, resources, createAwsClients(), logger, metrics, systemClock));
