// @ts-check
/**
 * Flat config. TypeScript (src/, gateway/, test/, bench/) gets typescript-eslint's type-checked
 * rules: a dropped promise in a long-lived gateway is a lost reply, so no-floating-promises and
 * no-misused-promises are errors. Function samples (functions/, test/fixtures/*functions/) are
 * user-style CommonJS/ESM JavaScript and get plain recommended rules with Node globals.
 */
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Node's globals, for the JavaScript samples (no `globals` dependency for a dozen names). */
const nodeGlobals = Object.fromEntries(
  [
    'AbortController', 'AbortSignal', 'Buffer', 'URL', 'URLSearchParams', 'TextDecoder', 'TextEncoder',
    'clearImmediate', 'clearInterval', 'clearTimeout', 'console', 'fetch', 'global', 'globalThis',
    'performance', 'process', 'queueMicrotask', 'setImmediate', 'setInterval', 'setTimeout',
    'structuredClone',
  ].map((name) => [name, 'readonly']),
);
const commonJsGlobals = { require: 'readonly', module: 'writable', exports: 'writable', __dirname: 'readonly', __filename: 'readonly' };

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'src/dist/**',
      'node_modules/**',
      'coverage/**',
      '.edgefc/**',
      // Deliberately broken samples (syntax errors are the point of them).
      'test/fixtures/functions/broken/**',
    ],
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        // Finds the nearest tsconfig.json: src/tsconfig.json for the SDK, the root one for gateway/bench, test/tsconfig.json for tests.
        projectService: { allowDefaultProject: ['vitest.config.ts'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests read JSON off the wire and poke at results: `any` flowing from JSON.parse is normal
    // there. The rules that catch lost promises and explicit `any` stay on.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // The SDK (src/) never depends on the gateway (STYLE.md: dependencies point gateway -> src).
    files: ['src/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+(gateway|bench|test)(/|$)',
              message: 'src/ is the SDK: it must not import the gateway, benchmarks or tests.',
            },
          ],
        },
      ],
    },
  },
  {
    // The gateway (and the benchmarks, built with it) use the SDK as a package: `edgefc`,
    // `edgefc/errors`, `edgefc/protocol`, `edgefc/mqtt`, `edgefc/client`, `edgefc/request-channel`
    // (src/package.json "exports"), never its files. `node scripts/sdk-imports.mjs` rewrites the relative form.
    files: ['gateway/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(\\.\\./)+src(/|$)',
              message: 'import the SDK by its package names (edgefc, edgefc/protocol, ...): run `node scripts/sdk-imports.mjs`.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    extends: [js.configs.recommended],
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: nodeGlobals },
    rules: {
      // FC handler signatures are fixed: (event, context, callback) even when one is unused.
      'no-unused-vars': ['error', { args: 'none' }],
    },
  },
  {
    // CommonJS: .cjs everywhere, and .js in the function samples (their package.json has no "type").
    files: ['**/*.cjs', 'functions/**/*.js', 'test/fixtures/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { ...nodeGlobals, ...commonJsGlobals } },
  },
);
