// @ts-check
import eslint from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'coverage/', 'node_modules/'] },
  eslint.configs.recommended,
  tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // Refusing control characters (CR, LF, NUL in a header, a path or a name) is part of the
      // adapter's job, so its validators match them on purpose; the rule only knows accidents.
      'no-control-regex': 'off',
    },
  },
  {
    // bin/, bench/, scripts/ and the jest config are CommonJS that Node runs as it is.
    files: ['**/*.js'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  { files: ['test/**/*.ts'], languageOptions: { globals: { ...globals.jest } } },
);
