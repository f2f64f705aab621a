export interface EventType {
  id: string;
  /** Client id chosen by the integrator (configuration as code), if any. */
  uid: string | null;
  name: string;
  category: string;
  description: string;
  builtIn: boolean;
  deprecated: boolean;
  deprecatedAt: string | null;
  schema: unknown;
  createdAt: string;
}

const FIELDS = 'id uid name category description builtIn deprecated deprecatedAt schema createdAt';

export const EVENT_TYPES_QUERY = /* GraphQL */ `
  query EventTypes {
    eventTypes(first: 500, includeDeprecated: true) { edges { node { ${FIELDS} } } }
  }
`;

export const CREATE_EVENT_TYPE = /* GraphQL */ `
  mutation CreateEventType($input: CreateEventTypeInput!) {
    createEventType(input: $input) { ${FIELDS} }
  }
`;

export const DEPRECATE_EVENT_TYPE = /* GraphQL */ `
  mutation DeprecateEventType($id: ID!) {
    deprecateEventType(id: $id) { ${FIELDS} }
  }
`;
