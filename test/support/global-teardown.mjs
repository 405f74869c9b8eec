export default async function globalTeardown() {
  await globalThis.__gatewayTestCluster?.stop();
}
