export const EXCHANGE_PORTAL_TOKEN = /* GraphQL */ `
  mutation ExchangePortalToken($token: String!) {
    exchangePortalToken(token: $token) { sessionToken expiresAt }
  }
`;
