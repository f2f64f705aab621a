import { createContext, useContext } from 'react';

export type Role = 'ADMIN' | 'OPERATOR' | 'PUBLISHER' | 'VIEWER';
export type Plan = 'enterprise' | 'professional' | 'starter';

export interface Viewer {
  role: Role;
  plan: Plan;
  apiKeyId: string;
  apiKeyName: string;
  org: { id: string; name: string };
  /** Set for an embedded portal session (no sign-out, the platform's name and colour). */
  portal?: PortalInfo | null;
}

export interface PortalInfo {
  labels: string[] | null;
  displayName: string | null;
  accentColor: string | null;
  expiresAt: string;
}

export interface Session {
  apiKey: string;
  viewer: Viewer;
  /** Forgets the key and returns to the login page (with an optional explanation). */
  logout(reason?: string): void;
}

/** What the caller may do in the console; buttons that would be refused are not shown. */
export interface Permissions {
  /** Read endpoints, deliveries and live streams (admin, operator, viewer). */
  read: boolean;
  /** See event payloads and custom header values (not viewers). */
  seePayloads: boolean;
  /** Replay, pause/resume, send test events: operator or admin on the enterprise plan. */
  operate: boolean;
  /** Create and edit endpoints, subscriptions and signing keys: admin on the enterprise plan. */
  manageSettings: boolean;
  /** Event types and API keys: admin (any plan). */
  manageOrg: boolean;
  /** The org's plan includes webhook settings. */
  enterprise: boolean;
  /** The role alone would allow operating (used to explain plan limits rather than hide them). */
  roleCanOperate: boolean;
  roleCanManage: boolean;
}

/** Permissions of a role on a plan (mirrors the server's rules, which stay the authority). */
export function permissionsOf(viewer: Pick<Viewer, 'role' | 'plan' | 'portal'>): Permissions {
  const enterprise = viewer.plan === 'enterprise';
  const admin = viewer.role === 'ADMIN';
  const operator = admin || viewer.role === 'OPERATOR';
  return {
    read: viewer.role !== 'PUBLISHER',
    seePayloads: viewer.role !== 'VIEWER',
    operate: operator && enterprise,
    manageSettings: admin && enterprise,
    // A portal session is not an API key: no API keys, no event-type changes.
    manageOrg: admin && !viewer.portal,
    enterprise,
    roleCanOperate: operator,
    roleCanManage: admin,
  };
}

const STORAGE_KEY = 'org-webhooks.apiKey';

/** The API key lives in sessionStorage: it survives a reload, not closing the tab. */
export const storedApiKey = {
  get(): string | null {
    try {
      return window.sessionStorage.getItem(STORAGE_KEY);
    } catch {
      return null;
    }
  },
  set(key: string): void {
    window.sessionStorage.setItem(STORAGE_KEY, key);
  },
  clear(): void {
    window.sessionStorage.removeItem(STORAGE_KEY);
  },
};

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession() outside of a signed-in console');
  return session;
}

export function usePermissions(): Permissions {
  return permissionsOf(useSession().viewer);
}
