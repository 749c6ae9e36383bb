import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'data/', '.cache/', 'dist/', 'db/migrations/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // What workflows, activities and the API share lives in shared/; nothing
    // but the worker (which loads the bundle) reaches into workflows/.
    files: ['activities/**/*.ts', 'api/**/*.ts', 'db/**/*.ts', 'evidence/**/*.ts', 'qualys/**/*.ts', 'runtime/**/*.ts', 'scripts/**/*.ts', 'security/**/*.ts', 'shared/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/workflows/*', '**/workflows'], message: 'import shared names from shared/contracts.ts' }] }],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: activities and
    // I/O modules may only be imported as types.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['../activities/*', '../activities', '../db/*', '../qualys/*', '../evidence/*', 'node:*'], allowTypeImports: true },
          ],
        },
      ],
    },
  },
);
