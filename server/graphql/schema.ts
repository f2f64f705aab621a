import { assertValidSchema, lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { builder } from './builder.js';
import './scalars.js';
import './types/enums.js';
import './types/organization.js';
import './types/viewer.js';
import './types/apiKey.js';
import './types/eventType.js';
import './types/endpoint.js';
import './types/endpointOperations.js';
import './types/endpointHealth.js';
import './types/endpointUrlPolicy.js';
import './types/signingKey.js';
import './types/event.js';
import './types/delivery.js';
import './types/deliveryRequest.js';
import './types/deliveryExport.js';
import './types/deliveryAttempt.js';
import './types/deliveryStats.js';
import './types/liveDeliveryAttempts.js';
import './types/endpointHealthEvent.js';
import './types/endpointContent.js';
import './types/portalSession.js';
import './types/configuration.js';

let schema: GraphQLSchema | null = null;

/** The executable schema (built once per process). */
export function buildSchema(): GraphQLSchema {
  if (!schema) {
    schema = builder.toSchema();
    // Fail at start, not at the first request.
    assertValidSchema(schema);
  }
  return schema;
}

/** The SDL committed as schema.graphql; a test fails when it is stale. */
export function printSchemaSdl(): string {
  return printSchema(lexicographicSortSchema(buildSchema())) + '\n';
}
