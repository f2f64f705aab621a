export const VIEWER_QUERY = /* GraphQL */ `
  query Viewer {
    viewer {
      role
      plan
      apiKeyId
      apiKeyName
      org { id name }
      portal { labels displayName accentColor expiresAt }
    }
  }
`;
