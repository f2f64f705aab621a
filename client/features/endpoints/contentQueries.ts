/** GraphQL documents of the filter field and the transformation editor (re-exported by queries.ts). */

export const VALIDATE_FILTER = /* GraphQL */ `
  query ValidateEndpointFilter($expression: String!) {
    validateEndpointFilter(expression: $expression) { valid message position { line column } }
  }
`;

export const TRANSFORMATION_CATALOG = /* GraphQL */ `
  query TransformationCatalog {
    eventTypes(first: 500) { edges { node { name schema } } }
  }
`;

export const TRANSFORMATION_LAST_EVENT = /* GraphQL */ `
  query TransformationLastEvent($type: String!) {
    events(first: 1, filter: { type: $type }) { edges { node { data } } }
  }
`;

export const TEST_TRANSFORMATION = /* GraphQL */ `
  mutation TestTransformation($code: String!, $type: String!, $data: JSON!, $headers: [TransformationHeaderInput!]) {
    testTransformation(code: $code, type: $type, data: $data, headers: $headers) { ok cancelled body headers { name value } error durationMs }
  }
`;
