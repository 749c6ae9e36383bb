/**
 * API keys from the command line, against the configured database
 * (DATABASE_URL, or the embedded one in DATA_DIR):
 *   npm run keys -- create --role admin --name ci
 *   npm run keys -- list
 *   npm run keys -- revoke <id>
 * `create` prints the token alone on stdout, so scripts can capture it.
 */
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { createApiKey, listApiKeys, type ApiKey } from '../db/api-keys.js';
import type { DatabaseHandle } from '../db/database.js';
import { openConfiguredDatabase } from './configured-database.js';
import { revokeKeepingAnAdmin } from '../api/api-key-revocation.js';
import { apiKeyCreateSchema } from '../api/schemas/api-key.js';
import { loadConfig } from '../runtime/config.js';

const HELP = `Manage API keys

Usage: npm run keys -- <command>

  create --role <admin|auditor> --name <name>
                   create a key and print its token once (stdout); store it right away
  list             list keys (never their tokens)
  revoke <id>      revoke a key at once (the last live admin key cannot be revoked)
  --help           this text

The database is the configured one: DATABASE_URL, or the embedded database in
DATA_DIR (default ./data). The embedded database belongs to one process: stop
\`npm start\` first, or use the API (POST /v1/api-keys) while it runs.
`;

class UsageError extends Error {}

type Command = { name: 'help' } | { name: 'create'; role: 'admin' | 'auditor'; keyName: string } | { name: 'list' } | { name: 'revoke'; id: string };

function parseCommand(argv: string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { help: { type: 'boolean', short: 'h' }, role: { type: 'string' }, name: { type: 'string' } },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') return { name: 'help' };
  const noExtra = (allowed: number) => {
    if (rest.length > allowed) throw new UsageError(`${command}: unexpected argument "${rest[allowed]}"`);
  };
  switch (command) {
    case 'create': {
      noExtra(0);
      const body = apiKeyCreateSchema.safeParse({ name: values.name, role: values.role });
      if (!body.success) {
        const issue = body.error.issues[0]!;
        throw new UsageError(`create: --${String(issue.path[0])} ${issue.message}`);
      }
      return { name: 'create', role: body.data.role, keyName: body.data.name };
    }
    case 'list':
      noExtra(0);
      return { name: 'list' };
    case 'revoke': {
      noExtra(1);
      const id = z.string().min(1).max(200).safeParse(rest[0]);
      if (!id.success) throw new UsageError('revoke: give the id of the key (see `npm run keys -- list`)');
      return { name: 'revoke', id: id.data };
    }
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

function printKeys(keys: ApiKey[]): void {
  const rows = keys.map((k) => [
    k.id,
    k.role,
    k.name,
    `${k.tokenPrefix}…`,
    k.createdAt.toISOString(),
    k.lastUsedAt?.toISOString() ?? '-',
    k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active',
  ]);
  const table = [['ID', 'ROLE', 'NAME', 'TOKEN', 'CREATED', 'LAST USED', 'STATUS'], ...rows];
  const widths = table[0]!.map((_, col) => Math.max(...table.map((row) => row[col]!.length)));
  for (const row of table) console.log(row.map((cell, col) => cell.padEnd(widths[col]!)).join('  ').trimEnd());
}

async function allKeys(handle: DatabaseHandle): Promise<ApiKey[]> {
  const keys: ApiKey[] = [];
  let cursor: string | undefined;
  do {
    const page = await listApiKeys(handle.db, { cursor, limit: 500 });
    keys.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return keys;
}

async function run(command: Exclude<Command, { name: 'help' }>, handle: DatabaseHandle): Promise<number> {
  switch (command.name) {
    case 'create': {
      const { apiKey, token } = await createApiKey(handle.db, { name: command.keyName, role: command.role });
      console.error(`Created ${apiKey.role} key "${apiKey.name}" (${apiKey.id}). Store the token below now: it is shown only once.`);
      // The one place a token is ever shown: alone on stdout, so scripts can capture it.
      process.stdout.write(`${token}\n`);
      return 0;
    }
    case 'list': {
      const keys = await allKeys(handle);
      if (keys.length === 0) console.error('No API keys yet: npm run keys -- create --role admin --name <name>');
      else printKeys(keys);
      return 0;
    }
    case 'revoke': {
      const result = await revokeKeepingAnAdmin(handle.db, command.id);
      if (result.outcome === 'not-found') {
        console.error(`No API key with id ${command.id} (see npm run keys -- list)`);
        return 1;
      }
      if (result.outcome === 'last-admin') {
        console.error('This is the last live admin key; create another admin key first (npm run keys -- create --role admin --name <name>)');
        return 1;
      }
      console.error(`Revoked ${result.apiKey.role} key "${result.apiKey.name}" (${result.apiKey.id}).`);
      return 0;
    }
  }
}

async function main(): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`${err.message}\n\n${HELP}`);
    return 2;
  }
  if (command.name === 'help') {
    console.log(HELP);
    return 0;
  }
  const handle = await openConfiguredDatabase(loadConfig(), 'keys can also be created through the running API (POST /v1/api-keys)');
  try {
    return await run(command, handle);
  } finally {
    await handle.close();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
