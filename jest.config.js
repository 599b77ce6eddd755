// Three projects: `unit` and `frontend` run anywhere in seconds; `integration` needs the testbed
// (`scripts/testbed up`) and runs in band because there is one Slurm per machine.
const tsJest = ['ts-jest', { tsconfig: 'test/tsconfig.json' }];

module.exports = {
  // Build output holds copies of package.json and compiled tests; jest must not see them.
  modulePathIgnorePatterns: ['<rootDir>/hpclab/', '<rootDir>/build/', '<rootDir>/dist/', '<rootDir>/lib/'],
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      modulePathIgnorePatterns: ['<rootDir>/hpclab/', '<rootDir>/build/', '<rootDir>/dist/', '<rootDir>/lib/'],
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/unit/**/*.test.ts']
    },
    {
      // The JupyterLab extension's model and API client, in a browser-like DOM.
      displayName: 'frontend',
      testEnvironment: 'jsdom',
      modulePathIgnorePatterns: ['<rootDir>/hpclab/', '<rootDir>/build/', '<rootDir>/dist/', '<rootDir>/lib/'],
      transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'test/frontend/tsconfig.json' }] },
      testMatch: ['<rootDir>/test/frontend/**/*.test.ts']
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      modulePathIgnorePatterns: ['<rootDir>/hpclab/', '<rootDir>/build/', '<rootDir>/dist/', '<rootDir>/lib/'],
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/integration/setup.ts']
    },
    {
      // Faults on purpose, hostile input and access checks: on the split testbed, in band.
      displayName: 'resilience',
      testEnvironment: 'node',
      modulePathIgnorePatterns: ['<rootDir>/hpclab/', '<rootDir>/build/', '<rootDir>/dist/', '<rootDir>/lib/'],
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/resilience/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/integration/setup.ts']
    }
  ]
};
