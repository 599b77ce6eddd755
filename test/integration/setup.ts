// Real Slurm jobs and SSH logins take seconds, not milliseconds.
jest.setTimeout(120_000);
