// ESLint, after the JupyterLab extension template's eslint.config.mjs: eslint and typescript-eslint
// recommended, the template's rule choices, Jupyter's own plugin for the extension, and
// eslint-config-prettier last so that no rule argues with prettier about layout.
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';
import prettierConfig from 'eslint-config-prettier';
import globals from 'globals';
import jupyterPlugin from '@jupyter/eslint-plugin';

export default defineConfig([
  {
    ignores: [
      '**/node_modules',
      // Build output (see `npm run clean`, and lab/scripts/build for lab/build).
      'dist',
      'lib',
      'build',
      'lab/build',
      'dist-py',
      'hpclab/labextension',
      'hpclab/companion',
      'coverage',
      'bench/results',
      '**/*.d.ts',
      // Its own package (Playwright, own lock), as the template leaves ui-tests out too.
      'ui-tests'
    ]
  },
  js.configs.recommended,
  {
    files: ['**/*.ts'],
    extends: [tseslint.configs.recommended],
    // No parserOptions.project (the template has one): these rules need no types, Jupyter's use
    // them only when present, and a typed parse of the four tsconfig projects doubles the lint's
    // time for nothing but false alarms (widgets added in a loop taken as unowned). Types are
    // `npm run typecheck`'s job.
    rules: {
      // Unused arguments document a callback's signature (Express handlers, listeners), and
      // `const { key: _gone, ...rest } = o` is how this code drops a key from a copy.
      '@typescript-eslint/no-unused-vars': ['warn', { args: 'none', ignoreRestSiblings: true }],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-namespace': 'off',
      '@typescript-eslint/no-use-before-define': 'off'
      // Left out from the template on purpose:
      // - `@typescript-eslint/naming-convention` requiring an `I` prefix on interfaces: this code
      //   names interfaces without one (`SessionInfo`, not `ISessionInfo`), and renaming every
      //   exported type would break the API for nothing a reader gains.
      // - `@typescript-eslint/quotes`: gone from typescript-eslint 8; prettier's singleQuote
      //   does it.
    }
  },
  {
    files: ['**/*.ts', '**/*.js', '**/*.mjs'],
    rules: {
      eqeqeq: 'error',
      'prefer-arrow-callback': 'error',
      // Validation here rejects control characters on purpose (config values, job script
      // fields, API input), so regular expressions name \x00-\x1f.
      'no-control-regex': 'off'
      // `curly` (the template has 'all') is left off: a one-statement `if` without braces is the
      // house style, and `eslint --fix` would brace over a thousand of them.
    }
  },
  // The JupyterLab extension is the only code Jupyter's plugin knows about (plugins, commands,
  // signals, translations; settings schemas).
  {
    files: ['src/**/*.ts'],
    extends: [jupyterPlugin.configs.recommended],
    rules: {
      // The extension is one autostart plugin whose modules are all needed as it activates;
      // splitting them into lazily loaded chunks would not start JupyterLab any sooner.
      'jupyter/prefer-lazy-imports': 'off'
    }
  },
  {
    files: ['schema/*.json'],
    extends: [jupyterPlugin.configs.recommended]
  },
  // Plain JavaScript run by Node: benchmarks, scripts, build and test configuration.
  {
    files: [
      'bench/**/*.js',
      'scripts/**/*.js',
      'webpack*.js',
      'jest.config.js',
      'lab/frontend/collect-schemas.js',
      'lab/frontend/webpack.config.js'
    ],
    languageOptions: {
      sourceType: 'commonjs',
      globals: globals.node
    },
    rules: {
      'no-unused-vars': ['warn', { args: 'none', ignoreRestSiblings: true }]
    }
  },
  // The frontend benchmark drives Chromium: the functions it hands to page.evaluate() run in the
  // page, with the browser's globals.
  {
    files: ['bench/frontend.js'],
    languageOptions: { globals: { ...globals.node, ...globals.browser } }
  },
  // hpclab's JupyterLab's app: browser modules that webpack bundles (webpack resolves their
  // require() calls too).
  {
    files: ['lab/frontend/index.js', 'lab/frontend/start.js', 'lab/frontend/core-plugins.js'],
    languageOptions: {
      sourceType: 'module',
      globals: { ...globals.browser, ...globals.commonjs }
    },
    rules: {
      'no-unused-vars': ['warn', { args: 'none', ignoreRestSiblings: true }]
    }
  },
  // These config files themselves.
  {
    files: ['*.mjs'],
    languageOptions: { globals: globals.node }
  },
  prettierConfig
]);
