/**
 * The benchmark's W1 (bench/README.md "The workloads"): organization → workspaces → environments and
 * components, with every totalCount. One text for the tests that check its statements, columns and plan.
 */
export const W1_QUERY = `{
  organization {
    workspaces(first: 100) {
      totalCount
      edges { node {
        id name
        environments(first: 100) { totalCount edges { node { id slug tier } } }
        components(first: 100) { totalCount edges { node { id name type } } }
      } }
    }
  }
}`;
