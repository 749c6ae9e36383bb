/**
 * Simulated Qualys users and how Qualys answers each account state.
 * All users belong to one subscription (they share its limits).
 */
import { QualysError } from './qualys-error.js';

export const USER_ROLES = ['Manager', 'Unit Manager', 'Scanner', 'Reader', 'Auditor'] as const;
export type UserRole = (typeof USER_ROLES)[number];

export const USER_STATUSES = ['active', 'expired', 'inactive', 'pending_registration', 'securid_required', 'unlicensed'] as const;
export type UserStatus = (typeof USER_STATUSES)[number];

export interface SimulatorUser {
  username: string;
  password: string;
  role: UserRole;
  status?: UserStatus;
}

export const DEFAULT_USERNAME = 'demo';
export const DEFAULT_PASSWORD = 'demo-pass';

/** Accounts for every case a client must handle; the passwords are simulator demo values, not secrets. */
export const DEFAULT_EXTRA_USERS: readonly SimulatorUser[] = [
  { username: 'reader', password: 'reader-pass', role: 'Reader' },
  { username: 'scanner', password: 'scanner-pass', role: 'Scanner' },
  { username: 'auditor', password: 'auditor-pass', role: 'Auditor' },
  { username: 'expired', password: 'expired-pass', role: 'Manager', status: 'expired' },
  { username: 'inactive', password: 'inactive-pass', role: 'Manager', status: 'inactive' },
];

export function defaultUsers(username = DEFAULT_USERNAME, password = DEFAULT_PASSWORD): SimulatorUser[] {
  return [{ username, password, role: 'Manager' }, ...DEFAULT_EXTRA_USERS.filter((u) => u.username !== username)];
}

/** Account states other than `active`: Qualys codes 2001–2012 (expired is the odd one: HTTP 200). */
const STATUS_ERRORS: Record<Exclude<UserStatus, 'active'>, [number, number, string]> = {
  expired: [200, 2001, 'This account has expired.'],
  inactive: [403, 2002, 'User account is inactive.'],
  pending_registration: [403, 2003, 'Registration must be completed before API requests will be served for this account.'],
  securid_required: [403, 2011, 'SecureID authentication is required for this account, so API access is blocked.'],
  unlicensed: [403, 2012, 'User license is not authorized to run this API.'],
};

/** Checks Basic credentials; throws the error Qualys would answer. */
export function authenticate(users: readonly SimulatorUser[], authorization: string | undefined): SimulatorUser {
  const badLogin = new QualysError(401, 2000, 'Bad Login/Password');
  if (!authorization?.startsWith('Basic ')) throw badLogin;
  const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw badLogin;
  const username = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  const user = users.find((u) => u.username === username && u.password === password);
  if (!user) throw badLogin;
  const status = user.status ?? 'active';
  if (status !== 'active') {
    const [http, code, text] = STATUS_ERRORS[status];
    throw new QualysError(http, code, text);
  }
  return user;
}

/**
 * Auditors only see compliance data. Qualys documents no dedicated code for a
 * role refused an API, so the simulator uses the closest documented one: 2012
 * ("not authorized to run this API"), HTTP 403, with the role named in the text.
 */
export function requireVulnerabilityAccess(user: SimulatorUser): void {
  if (user.role === 'Auditor') {
    throw new QualysError(
      403,
      2012,
      'User license is not authorized to run this API: the Auditor role has no access to vulnerability data (Host List Detection needs Manager, Unit Manager, Scanner or Reader).',
    );
  }
}
