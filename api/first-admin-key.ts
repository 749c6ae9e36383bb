/**
 * On an empty database nobody could call the API: the first start creates an
 * admin key and prints it once (stdout, so it can be captured apart from
 * the logs). `npm start` and `npm run api` (the compose `api` service) both
 * do it.
 */
import { countActiveApiKeys, createApiKey } from '../db/api-keys.js';
import type { AppDatabase } from '../db/app-database.js';

export async function printFirstAdminKey(db: AppDatabase, say: (line: string) => void): Promise<boolean> {
  if ((await countActiveApiKeys(db, 'admin')) > 0) return false;
  const { token } = await createApiKey(db, { name: 'bootstrap-admin', role: 'admin' });
  say('');
  say('First start: an admin API key was created. It is shown only now; store it safely:');
  process.stdout.write(`${token}\n`);
  say('');
  return true;
}
