import { defineConfig } from 'vitest/config';

// Two projects: "unit" is pure logic (no processes, no network) and runs in parallel;
// "integration" drives real ovsdb-server / OVS / OVN daemons and runs one file at a time,
// because every file brings up its own stack and the machines have two cores.
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        // Kubernetes API server and clients (kubectl, client-node) on loopback; no OVS needed.
        extends: true,
        test: {
          name: 'apiserver',
          include: ['test/apiserver/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 60_000,
        },
      },
    ],
  },
});
