/** GraphQL documents of shared components (test/e2e/consoleDocuments.test.ts checks them too). */
export const ENDPOINT_OPTIONS_QUERY = /* GraphQL */ `
  query EndpointOptions {
    endpoints(first: 500) { edges { node { id url description } } }
  }
`;
