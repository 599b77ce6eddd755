// Two projects: `unit` runs anywhere in seconds; `integration` needs the testbed
// (`scripts/testbed up`) and runs in band because there is one Slurm per machine.
const tsJest = ['ts-jest', { tsconfig: 'test/tsconfig.json' }];

module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/unit/**/*.test.ts']
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform: { '^.+\\.ts$': tsJest },
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      testTimeout: 120000
    }
  ]
};
