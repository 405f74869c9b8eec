export default async function globalTeardown() {
  await globalThis.__gatewayTestPgBouncer?.stop();
  await globalThis.__gatewayTestCluster?.stop();
}
