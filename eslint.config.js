// Lint rules that keep the package graph pointing one way (see shared/ARCHITECTURE.md):
// model packages import tfjs-core and @helmholtz/core only; applications pick the backend.
import tseslint from 'typescript-eslint';

const BACKEND_IMPORTS = {
  patterns: [
    {
      group: ['@tensorflow/tfjs-backend-*', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs', 'webgpu'],
      message: 'Library code never imports a backend: applications choose one through @helmholtz/backends.',
    },
    {
      group: ['@helmholtz/backends', '@helmholtz/backends/*'],
      message: 'Only applications (examples, the CLI) import @helmholtz/backends.',
    },
  ],
};

const MODEL_IMPORTS = {
  patterns: [
    ...BACKEND_IMPORTS.patterns,
    {
      group: ['@helmholtz/datasets', '@helmholtz/datasets/*', '@helmholtz/eval', '@helmholtz/eval/*'],
      message: 'Model packages import @tensorflow/tfjs-core and @helmholtz/core only (datasets in tests and benchmarks).',
    },
    {
      group: ['@helmholtz/energy', '@helmholtz/autoencoders', '@helmholtz/adversarial', '@helmholtz/autoregressive'],
      message: 'Model packages do not import each other: shared mechanisms move to @helmholtz/core.',
    },
  ],
};

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**', '**/coverage/**', 'examples/*/out/**'] },
  {
    files: ['**/*.ts', '**/*.mts', '**/*.js', '**/*.mjs'],
    languageOptions: { parser: tseslint.parser, ecmaVersion: 2022, sourceType: 'module' },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']",
          message: 'Randomness is explicit: draw from an Rng of @helmholtz/core.',
        },
      ],
    },
  },
  {
    files: ['packages/core/src/**/*.ts', 'packages/datasets/src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', BACKEND_IMPORTS] },
  },
  {
    files: ['packages/{energy,autoencoders,adversarial,autoregressive}/src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', MODEL_IMPORTS] },
  },
  {
    files: ['packages/eval/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: MODEL_IMPORTS.patterns.filter((p) => !p.group.includes('@helmholtz/datasets')) },
      ],
    },
  },
);
