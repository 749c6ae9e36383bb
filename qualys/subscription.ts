/**
 * Qualys counts calls per subscription, which we can only know as the API
 * server and the user name a connection signs in with. Their hash names the
 * subscription everywhere the budget is shared, so nothing about the account
 * is stored beyond what identifies it, and never a secret.
 */
import { createHash } from 'node:crypto';

export function subscriptionId(apiBaseUrl: string, username: string): string {
  const server = new URL(apiBaseUrl).origin.toLowerCase();
  return createHash('sha256').update(`${server}\n${username.trim().toLowerCase()}`).digest('hex');
}
